"""Loop guards: doom loop, malformed-call streak, plan continuation.

Each guard injects one corrective message per episode. The reference's doom-loop check looked anywhere in a
window and fired again on every following iteration; this one only looks at the tail, and stays quiet while
the same episode goes on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_PLAN_NUDGES = 2
# Three identical calls in a row (with identical results) is a loop; two can be a legitimate re-check.
IDENTICAL_RUN = 3
CYCLE_LENGTHS = range(2, 6)
CYCLE_REPEATS = 2
MALFORMED_STREAK = 2
# The detector only needs the tail; a bounded history keeps a 300-iteration run cheap.
HISTORY_LIMIT = 64


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
    # "No new output yet" from a job that is still running: waiting on it is not a loop.
    polling: bool = False

    @property
    def signature(self) -> str:
        """Tool + canonical arguments (sorted keys) + a hash of the result: polling with new output differs."""
        args = json.dumps(self.arguments, sort_keys=True, default=str, separators=(",", ":"))
        result = hashlib.sha256(self.result.encode("utf-8", "replace")).hexdigest()[:16]
        return f"{self.tool}|{args}|{result}"


def _minimal_rotation(cycle: tuple[str, ...]) -> tuple[str, ...]:
    """A cycle seen from any starting point is the same episode (A B A B, then B A B A)."""
    return min(cycle[i:] + cycle[:i] for i in range(len(cycle)))


def _period(seq: Sequence[str]) -> int:
    for p in range(1, len(seq) + 1):
        if len(seq) % p == 0 and all(seq[i] == seq[i % p] for i in range(len(seq))):
            return p
    return len(seq)


def detect_loop(signatures: Sequence[str]) -> tuple[str, ...] | None:
    """The repeating pattern at the tail, or None. Identical run of 3, or a cycle of 2-5 calls repeated twice."""
    if len(signatures) >= IDENTICAL_RUN and len(set(signatures[-IDENTICAL_RUN:])) == 1:
        return (signatures[-1],)
    for length in CYCLE_LENGTHS:
        span = length * CYCLE_REPEATS
        if len(signatures) < span:
            break
        tail = tuple(signatures[-span:])
        if tail[:length] == tail[length:] and _period(tail[:length]) == length:
            return _minimal_rotation(tail[:length])
    return None


def _tool_names(pattern: tuple[str, ...]) -> str:
    names: list[str] = []
    for sig in pattern:
        name = sig.split("|", 1)[0]
        if name not in names:
            names.append(name)
    return ", ".join(names)


@dataclass
class LoopGuards:
    plan_nudges: int = 0
    history: list[CallRecord] = field(default_factory=list)
    # The loop pattern already corrected; cleared when the tail stops repeating it.
    loop_episode: tuple[str, ...] | None = None
    # Per tool: consecutive invalid calls, and whether this streak was already corrected.
    malformed: dict[str, int] = field(default_factory=dict)

    def new_turn(self) -> None:
        self.plan_nudges = 0

    def after_batch(self, records: Sequence[CallRecord]) -> list[GuardMessage]:
        """Inspect the calls of one batch (in call order); at most one message per guard and episode."""
        messages: list[GuardMessage] = []
        # Polls that found nothing new leave the history alone: three of them in a row are patience, not a loop
        # (each waited for output; the iteration cap and the job's own timeout bound them).
        self.history.extend(r for r in records if not r.polling)
        del self.history[:-HISTORY_LIMIT]
        streak_tools: list[tuple[str, str]] = []
        for record in records:
            if record.status == "invalid":
                count = self.malformed.get(record.tool, 0) + 1
                self.malformed[record.tool] = count
                if count == MALFORMED_STREAK:
                    streak_tools.append((record.tool, record.result))
            elif record.status != "aborted":
                self.malformed.pop(record.tool, None)
        for tool, error in streak_tools:
            messages.append(GuardMessage(
                "malformed_calls",
                f"Your last {MALFORMED_STREAK} calls to {tool} were rejected before running. The last error was: "
                f"{error[:500]}\nCheck the tool's parameter schema: send one JSON object with exactly the "
                "documented argument names and types, or use a different tool.",
            ))
        pattern = detect_loop([r.signature for r in self.history])
        if pattern is None:
            self.loop_episode = None
        elif pattern != self.loop_episode:
            self.loop_episode = pattern
            what = (f"called {_tool_names(pattern)} {IDENTICAL_RUN} times in a row with the same arguments and got "
                    "the same result each time" if len(pattern) == 1 else
                    f"repeated the same sequence of {len(pattern)} calls ({_tool_names(pattern)}) twice with the "
                    "same results")
            messages.append(GuardMessage(
                "doom_loop",
                f"You have {what}. Repeating it will not change the outcome. Stop and reconsider: read the "
                "last result carefully, try a different approach or different arguments, or explain to the "
                "person what is blocking you.",
            ))
        return messages

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
