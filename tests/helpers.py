"""Small builders shared by engine tests."""

from __future__ import annotations

from typing import Any

from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.tools.registry import ToolRegistry


def call(name: str, arguments: dict[str, Any] | str, call_id: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "arguments": arguments}
    if call_id:
        item["id"] = call_id
    return item


def make_session(model: Any, tools: list[Any] | ToolRegistry = (), **config: Any) -> Session:
    registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
    session = Session(SessionConfig(model=model.name, **config), registry, model=model)
    session.seen = []  # type: ignore[attr-defined]
    session.subscribe(session.seen.append)  # type: ignore[attr-defined]
    return session


def kinds(session: Session) -> list[str]:
    return [e.kind for e in session.events]


def results_by_call(session: Session) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for event in session.events:
        if event.kind == "tool_result":
            out.setdefault(event.call_id, []).append(event)  # type: ignore[union-attr]
    return out


def is_summary_request(body: dict[str, Any]) -> bool:
    """A compaction request as a wire fake sees it (OpenAI or Anthropic shape): the summariser's system prompt."""
    from mlintern_jupyter.agent.context import SUMMARISER_SYSTEM

    system = body.get("system")
    if isinstance(system, list):
        system = " ".join(b.get("text", "") for b in system)
    first = (body.get("messages") or [{}])[0]
    return SUMMARISER_SYSTEM in str(system or "") or (first.get("role") == "system" and
                                                     SUMMARISER_SYSTEM in str(first.get("content")))


def agent_script(*replies: Any, summary: str = "SUMMARY: the task, decisions, state and the next step.") -> Any:
    """A wire-fake responder: the scripted agent replies in order (then "done"), and a summary for every
    compaction request."""
    from tests.fakes.llm_common import Reply

    queue = list(replies)

    def respond(body: dict[str, Any]) -> Any:
        if is_summary_request(body):
            return Reply(text=summary)
        return queue.pop(0) if queue else Reply(text="done")

    return respond
