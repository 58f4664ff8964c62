"""A Session: the core (event log, state fold, commands) plus turns, compaction, sub-agents and resume.

`SessionCore` (core.py) owns the log and the state; this module adds what needs the loop and the context
manager, so the imports run one way (session -> loop -> context -> core) and nothing imports back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import events as ev
from . import loop
from .context import compact as compact_context
from .core import SessionConfig, SessionCore, default_system_prompt, fold_log
from .models import Model
from .state import TotalUsage, fence, prompt_text
from .store import read_events, resolve_session_id, sessions_dir
from .tooling import ToolSet

__all__ = ["Session", "SessionConfig", "TotalUsage", "default_system_prompt", "fence", "prompt_text"]


class Session(SessionCore):
    async def run_turn(self, prompt: str | None, *, cell_id: str | None = None,
                       kernel_digest: str | None = None) -> ev.TurnEnded:
        """Run one prompt to its end; `prompt=None` continues calls whose approvals were answered later."""
        if prompt:
            # A token pasted into a prompt is masked everywhere from now on, also in encoded forms.
            self.redactor.learn_from_text(prompt)
        return await loop.run_turn(self, prompt, cell_id=cell_id, kernel_digest=kernel_digest)

    # ---- cells in the notebook: an insertion is an event, and so is who wrote it --------------------------

    def insert_cell(self, call_id: str, source: str, cell_type: str = "code",
                    script_path: str | None = None) -> ev.CellInsert:
        """A new cell below the turn's %%intern cell; its stable id is (session id, call id)."""
        return self.emit(ev.CellInsert(call_id=call_id, source=source, cell_type=cell_type,  # type: ignore[return-value, arg-type]
                                       anchor_cell_id=self.anchor_cell_id, script_path=script_path))

    def cell_insert(self, call_id: str) -> ev.CellInsert | None:
        return next((e for e in reversed(self.events) if isinstance(e, ev.CellInsert) and e.call_id == call_id),
                    None)

    def record_cell_placed(self, call_id: str, *, by: str, how: str = "inserted") -> bool:
        """A writer placed (or found, or missed) an insertion's cell; recorded once per writer and outcome.
        False when there is no such insertion or the same placement is already recorded."""
        if self.cell_insert(call_id) is None:
            return False
        if any(isinstance(e, ev.CellPlaced) and e.call_id == call_id and e.by == by and e.how == how
               for e in self.events):
            return False
        self.emit(ev.CellPlaced(call_id=call_id, by=by, how=how))  # type: ignore[arg-type]
        return True

    async def compact(self) -> str:
        """`%intern compact`: summarise the middle of the transcript now."""
        event = await compact_context(self, "requested by the person", forced=True)
        return f"{event.tokens_before:,} -> {event.tokens_after:,} tokens"

    def open_subagent(self, tools: ToolSet, *, system_prompt: str, max_iterations: int, label: str) -> Session:
        """A child session with its own context, through the same loop and gate, in this session's approve mode,
        model and effort, with nobody to click (what would need a person is refused, not waited on). It shares
        this session's Budget object, so each of its model calls is checked against everything spent; the spend
        is recorded in this session's log by the caller (the child's own fold leaves the shared budget alone).
        What this session learned about its model (a price the person gave, effort caps, the context window)
        opens the child's log, so its calls are priced and sized the same way."""
        state = self.state
        config = SessionConfig(
            model=state.model, approve_mode=state.approve_mode, budget_usd=self.budget.cap_usd,
            max_iterations=max(1, max_iterations), system_prompt=system_prompt,
            reasoning_effort=state.reasoning_effort, person_present=False, policy=self.policy_config(),
            cwd=state.cwd,
        )
        child = Session(config, tools, model=self.model, budget=self.budget, session_id=f"{self.id}-{label}"[:120],
                        home=self.dir.parent.parent, redactor=self.redactor, services=self.services.for_subagent())
        for event in self.state.provider.learned_events():
            child.emit(event)
        return child

    @classmethod
    def resume(cls, session_id: str, tools: Any, *, home: Path | None = None, model: Model | None = None,
               config: SessionConfig | None = None, system_prompt: str | None = None, **kwargs: Any) -> Session:
        """Rebuild a session from its log (by id, short name or unique id prefix): transcript, plan, usage,
        budget with its reservations, approvals (answered or pending), allow-list and settings."""
        session_id = resolve_session_id(session_id, home)
        log = read_events(sessions_dir(home) / session_id / "events.jsonl")
        if not any(isinstance(e, ev.SessionStarted) for e in log.events):
            raise FileNotFoundError(f"no session {session_id!r} under {sessions_dir(home)}")
        config = config or SessionConfig()
        # The host may build a fresh system prompt (this kernel's context); the log keeps the conversation.
        config.system_prompt = system_prompt or config.system_prompt
        restored = fold_log(log, config.system_prompt or default_system_prompt())
        session = cls(config, tools, model=model, session_id=session_id, home=home, restored=restored, **kwargs)
        if session.model.name != session.state.model:
            # Resumed with another model than the log's last (e.g. `%intern model` in the new kernel): recorded.
            session.emit(ev.ModelChanged(model=session.model.name))
        session.repair(keep_pending=True)
        if session.bad_records:
            where = "; ".join(session.bad_records[:5])
            session.emit(ev.Notice(level="warning", message=f"{len(session.bad_records)} record(s) of the log could "
                                   f"not be read and were skipped (the rest replayed): {where}"))
        return session
