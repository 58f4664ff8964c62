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
