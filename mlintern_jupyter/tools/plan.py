"""plan_tool: the model's todo list, shown as a plan card and used by the loop's continuation nudge."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..agent.events import PlanUpdated
from .registry import Tool, ToolContext, ToolError


class Todo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    content: str
    status: Literal["pending", "in_progress", "completed"]


async def plan_tool(todos: list[Todo], ctx: ToolContext) -> str:
    """Replace the plan: the full list of todos with their status. Keep exactly one item in_progress.

    Args:
        todos: every todo as {id, content, status}; status is pending, in_progress or completed.
    """
    ids = [t.id for t in todos]
    if len(set(ids)) != len(ids):
        raise ToolError("todo ids must be unique")
    items = [t.model_dump() for t in todos]
    ctx.emit(PlanUpdated(todos=items))
    done = sum(t.status == "completed" for t in todos)
    current = next((t.content for t in todos if t.status == "in_progress"), None)
    return f"Plan updated: {done}/{len(todos)} done" + (f"; now: {current}" if current else "")


def plan_tools() -> list[Tool]:
    return [Tool.from_function(plan_tool, access="session")]
