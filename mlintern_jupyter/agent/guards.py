"""Loop guards: doom loop, malformed-call streak, plan continuation (the guards work fills in the first two)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_PLAN_NUDGES = 2


@dataclass(frozen=True)
class GuardMessage:
    guard: str
    message: str


@dataclass
class CallRecord:
    tool: str
    arguments: Any
    result: str
    ok: bool
    status: str


@dataclass
class LoopGuards:
    plan_nudges: int = 0
    history: list[CallRecord] = field(default_factory=list)

    def new_turn(self) -> None:
        self.plan_nudges = 0

    def after_batch(self, records: Sequence[CallRecord]) -> list[GuardMessage]:
        self.history.extend(records)
        return []

    def on_text_answer(self, plan: Sequence[dict[str, Any]]) -> GuardMessage | None:
        """A text-only answer while the plan has open items: nudge, at most twice a turn."""
        open_items = [t for t in plan if t.get("status") != "completed"]
        if not open_items or self.plan_nudges >= MAX_PLAN_NUDGES:
            return None
        self.plan_nudges += 1
        names = ", ".join(str(t.get("content", t.get("id")))[:60] for t in open_items[:5])
        return GuardMessage(
            "plan_continuation",
            f"Your plan still has open items ({names}). Continue with the next one, or update the plan "
            "with plan_tool if they are done or no longer needed.",
        )
