"""The list behind ``%intern sessions``: every session under ``$MLINTERN_HOME/sessions``, newest first.

Each summary is read from the session's ``events.jsonl`` with the same torn-tail tolerant reader resume uses,
so a log cut off by a crash still lists (and says so).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from . import events as ev
from .core import fold_log
from .store import read_events, sessions_dir

SessionState = Literal["running", "idle", "awaiting approval", "interrupted", "ended"]
# A turn whose log stopped changing this long ago, with no live session behind it, died with its kernel.
STALE_AFTER_S = 600.0


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    first_prompt: str
    model: str
    cost_usd: float
    state: SessionState
    updated: str  # ISO 8601 time of the last durable event
    started: str = ""
    turns: int = 0
    pending_approvals: int = 0
    running_jobs: int = 0
    torn_tail: bool = False
    path: Path | None = None
    # The readable short name (the id is a UUID); sessions from before names have their id here.
    name: str = ""

    def as_row(self) -> dict[str, Any]:
        return {"id": self.session_id, "name": self.name, "updated": self.updated, "state": self.state,
                "model": self.model, "cost": f"${self.cost_usd:.2f}", "prompt": self.first_prompt}


def _state(ended: str | None, turn_open: bool, pending: int, live: Any, mtime: float,
           stale_after_s: float) -> SessionState:
    if ended is not None:
        return "ended"
    if live is not None and getattr(live, "running", False):
        return "running"
    if pending:
        return "awaiting approval"
    if turn_open:
        if live is None and time.time() - mtime < stale_after_s:
            return "running"  # maybe another kernel; it wrote recently
        return "interrupted"
    return "idle"


def summarize(path: Path, live: Any = None, stale_after_s: float = STALE_AFTER_S) -> SessionSummary | None:
    """One session's summary from its log; None if the folder holds no session."""
    log = read_events(path / "events.jsonl")
    started = next((e for e in log.events if isinstance(e, ev.SessionStarted)), None)
    if started is None:
        return None
    # The state comes from the same fold resume uses; only the list's own figures are counted here.
    state = fold_log(log, "").state
    first_prompt = next((" ".join(e.text.split())[:200] for e in log.events if isinstance(e, ev.UserPrompt)), "")
    turns = sum(isinstance(e, ev.TurnEnded) for e in log.events)
    # Older logs could run a call whose late decision was never logged: its result settles it.
    answered = {e.call_id for e in log.events if isinstance(e, ev.ToolResult)}
    pending = sum(1 for r in state.approvals.pending() if r.call_id not in answered)
    running_jobs = sum(1 for job in state.jobs.values() if not ev.job_is_terminal(job.status))
    last = log.events[-1]
    try:
        mtime = (path / "events.jsonl").stat().st_mtime
    except OSError:
        mtime = 0.0
    return SessionSummary(
        session_id=path.name,
        first_prompt=first_prompt,
        model=state.model,
        cost_usd=round(state.usage.cost_usd + sum(job.cost_usd or 0.0 for job in state.jobs.values()), 6),
        state=_state(state.ended, state.turn_open, pending, live, mtime, stale_after_s),
        updated=last.ts or started.ts,
        started=started.ts,
        turns=turns,
        pending_approvals=pending,
        running_jobs=running_jobs,
        torn_tail=log.torn_tail is not None,
        path=path,
        name=started.name or path.name,
    )


def _sort_key(summary: SessionSummary) -> float:
    try:
        return datetime.fromisoformat(summary.updated.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def list_sessions(home: Path | None = None, *, live: Mapping[str, Any] | None = None,
                  stale_after_s: float = STALE_AFTER_S) -> list[SessionSummary]:
    """Every session under `home` (default $MLINTERN_HOME), most recently updated first. `live` maps
    session ids to the Session objects alive in this kernel, whose `running` flag is then authoritative."""
    root = sessions_dir(home)
    if not root.is_dir():
        return []
    live = live or {}
    summaries = []
    for folder in root.iterdir():
        if folder.is_dir():
            summary = summarize(folder, live.get(folder.name), stale_after_s)
            if summary is not None:
                summaries.append(summary)
    return sorted(summaries, key=lambda s: (_sort_key(s), s.session_id), reverse=True)
