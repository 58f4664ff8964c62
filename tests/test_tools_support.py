"""Helpers shared by the tools tests (no tests here): sessions driven by scripted models, tool contexts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.models import ScriptedModel
from mlintern_jupyter.agent.policy import PolicyConfig
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.agent.tooling import SessionServices
from mlintern_jupyter.tools.registry import Tool, ToolContext, ToolRegistry


def call(name: str, arguments: dict[str, Any], call_id: str = "call_1") -> dict[str, Any]:
    return {"tool_calls": [{"id": call_id, "name": name, "arguments": arguments}]}


def scripted_session(home: Path, tools: list[Tool] | ToolRegistry, script: list[Any], *, approve: str = "auto",
                     budget: float | None = None, services: SessionServices | None = None,
                     policy: PolicyConfig | None = None) -> Session:
    registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
    config = SessionConfig(model="scripted", approve_mode=approve, budget_usd=budget,  # type: ignore[arg-type]
                           policy=policy or PolicyConfig())
    return Session(config, registry, model=ScriptedModel(script), home=home, services=services)


def results(session: Session) -> list[ev.ToolResult]:
    return [e for e in session.events if isinstance(e, ev.ToolResult)]


def of_kind(session: Session, cls: type) -> list[Any]:
    return [e for e in session.events if isinstance(e, cls)]


class Collector:
    """A ToolContext whose events land in a list: for calling a tool directly."""

    def __init__(self, workspace: Path, services: SessionServices | None = None, call_id: str = "call_1",
                 session_id: str = "sess_test") -> None:
        self.events: list[Any] = []
        workspace.mkdir(parents=True, exist_ok=True)
        # A direct call is not gated: as after `%intern allow hf-token-jobs`, HF jobs may receive the HF token.
        self.ctx = ToolContext(session_id=session_id, call_id=call_id, workspace=workspace, emit=self.events.append,
                               services=services or SessionServices(), hf_token_jobs=True)

    def text(self, job_id: str | None = None) -> str:
        return "".join(e.text for e in self.events if isinstance(e, ev.ToolOutput)
                       and (job_id is None or e.job_id == job_id))


async def run_tool(tool: Tool, ctx: ToolContext, **arguments: Any) -> Any:
    """Validate, resolve and run a tool the way the loop does (a script path read first, context injected)."""
    resolved = await tool.resolve(tool.validate(arguments), ctx)
    return await tool.run(tool.validate(resolved.arguments), ctx)


async def outcome(tool: Tool, ctx: ToolContext, **arguments: Any) -> str:
    """The text the model would get: the result, or the ToolError's message."""
    from mlintern_jupyter.tools.registry import ToolError

    try:
        return (await run_tool(tool, ctx, **arguments)).content
    except ToolError as exc:
        return f"Error: {exc}"


def run(coro: Any, timeout: float = 60) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))
