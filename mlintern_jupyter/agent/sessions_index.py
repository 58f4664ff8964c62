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


def _state(events: list[ev.Event], turn_open: bool, pending: int, live: Any, mtime: float,
           stale_after_s: float) -> SessionState:
    if any(isinstance(e, ev.SessionEnded) for e in events):
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
    model, first_prompt, llm_cost, turns, turn_open = started.model, "", 0.0, 0, False
    job_costs: dict[str, float] = {}
    job_status: dict[str, str] = {}
    requested: dict[str, str] = {}
    decided: set[str] = set()
    answered: set[str] = set()
    for event in log.events:
        match event:
            case ev.ModelChanged(model=name):
                model = name
            case ev.UserPrompt(text=text):
                first_prompt = first_prompt or " ".join(text.split())[:200]
                turn_open = True
            case ev.TurnEnded():
                turns += 1
                turn_open = False
            case ev.Usage(cost_usd=cost):
                llm_cost += cost or 0.0  # None: unknown price (counted nowhere rather than as $0.00 spent)
            case ev.JobUpdated(job_id=job_id, cost_usd=cost, status=status):
                job_costs[job_id], job_status[job_id] = cost, status.upper()
            case ev.ApprovalRequested(call_id=call_id, nonce=nonce):
                requested[nonce] = call_id
            case ev.ApprovalResolved(nonce=nonce, call_id=call_id):
                decided.add(nonce or call_id)
            case ev.ToolResult(call_id=call_id):
                answered.add(call_id)
    # Pending: asked, never decided, and the call never got a result (a decision after --wait may run the
    # call without a logged decision; its result settles it).
    pending = sum(1 for nonce, call in requested.items() if nonce not in decided and call not in decided
                  and call not in answered)
    running_jobs = sum(1 for s in job_status.values() if s in ("RUNNING", "PENDING", "STARTING", "QUEUED"))
    last = log.events[-1]
    try:
        mtime = (path / "events.jsonl").stat().st_mtime
    except OSError:
        mtime = 0.0
    return SessionSummary(
        session_id=path.name,
        first_prompt=first_prompt,
        model=model,
        cost_usd=round(llm_cost + sum(job_costs.values()), 6),
        state=_state(log.events, turn_open, pending, live, mtime, stale_after_s),
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
