"""SessionCore: a session's event log, its state (a fold of that log) and every command that changes it.

Every change goes through `emit`: the event is stamped, redacted, validated, made durable (fsync) and only
then folded into `state` by `state.apply` and handed to listeners. Resume folds the log through the same
function. The commands below are the public, typed surface every UI (magics, comm, cards) calls; each one
records its event before it takes effect (the compute ledger's commands come from the mixin in
compute_ledger.py). The loop and context modules build on this class; `session.py` adds turns, compaction and
resume on top, so the imports run one way: session -> loop -> context -> core.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from . import events as ev
from .allow_list import session_shape
from .approval import APPROVE_MODES, ActionSpec, ApprovalRecord, Resolution, edited_spec, new_nonce
from .budget import Budget
from .compute_ledger import ComputeLedgerMixin
from .guards import LoopGuards
from .messages import ToolCallPart, repair_dangling_calls
from .models import Model, resolve_model
from .policy import PolicyConfig
from .redact import Redactor
from .session_config import SessionConfig
from .state import Restored, SessionState, apply, fold_log
from .store import EPHEMERAL_KINDS, EventStore, new_session_id, session_name, sessions_dir
from .tooling import ScriptStore, SessionServices, ToolSet

__all__ = ["Restored", "SessionConfig", "SessionCore", "default_system_prompt", "fold_log"]

Listener = Callable[[ev.Event], None]
TRACE_MODES = ("private", "public", "off")


def default_system_prompt() -> str:
    return resources.files("mlintern_jupyter.agent").joinpath("prompts/system.md").read_text()


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class SessionCore(ComputeLedgerMixin):
    def __init__(
        self,
        config: SessionConfig,
        tools: ToolSet,
        *,
        model: Model | None = None,
        session_id: str | None = None,
        home: Path | None = None,
        redactor: Any = None,
        services: SessionServices | None = None,
        restored: Restored | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.config = config
        self.tools = tools
        self.model = model or (resolve_model(restored.state.model, restored.state.api_base) if restored
                               else resolve_model(config.model, config.api_base))
        self.id = session_id or new_session_id()
        self.dir = sessions_dir(home) / self.id
        self.workspace = self.dir / "workspace"
        self.scripts_dir = self.dir / "scripts"
        for folder in (self.workspace, self.scripts_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.scripts = ScriptStore(self.scripts_dir)
        # Every event passes the redactor before it is written, shown or sent to a model (fail closed).
        self.redactor = redactor if redactor is not None else Redactor.from_environment()
        self.services = services if services is not None else SessionServices()
        self.listeners: list[Listener] = []
        self.events: list[ev.Event] = []
        self.guards = LoopGuards()
        self.state = restored.state if restored else SessionState.initial(config.system_prompt or default_system_prompt())
        self.state.transcript.counter = self.model.count_tokens
        if budget is not None:
            # A sub-agent checks its parent's Budget object; the parent's log records the spend, not the child's.
            self.state.budget, self.state.owns_budget = budget, False
        self._seq = self.state.seq
        # Futures a gate waits on, by approval nonce: live only, never part of the state.
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._lock = threading.RLock()
        self._turn_task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.running = False
        self.torn_tail: str | None = None
        # What resume could not read or apply ("line N: reason", "seq N: reason"): reported, never silent.
        self.bad_records: list[str] = []
        if restored is not None:
            self.events = list(restored.log.events)
            self.torn_tail = restored.log.torn_tail
            self.bad_records = [f"line {n}: {why}" for n, why in restored.log.bad_lines] + restored.bad_records
        self.store = EventStore(self.dir / "events.jsonl", redact=self._redact_dict)
        self.torn_tail = self.torn_tail or self.store.torn_tail
        if restored is None:
            import os

            self.emit(ev.SessionStarted(
                model=self.model.name, approve_mode=config.approve_mode, budget_usd=config.budget_usd,
                max_iterations=config.max_iterations, workspace=str(self.workspace), demo=self.model.offline,
                name=session_name(self.id), cwd=config.cwd or os.getcwd(), reasoning_effort=config.reasoning_effort,
                api_base=getattr(self.model, "api_base", None),
            ))

    # ---- views of the state ---------------------------------------------------------------------------

    @property
    def transcript(self) -> Any:
        return self.state.transcript

    @property
    def plan(self) -> list[dict[str, Any]]:
        return self.state.plan

    @property
    def usage(self) -> Any:
        return self.state.usage

    @property
    def budget(self) -> Any:
        return self.state.budget

    @property
    def approvals(self) -> Any:
        return self.state.approvals

    @property
    def jobs(self) -> dict[str, ev.JobUpdated]:
        return self.state.jobs

    @property
    def anchor_cell_id(self) -> str | None:
        return self.state.anchor_cell_id

    @property
    def ended(self) -> str | None:
        return self.state.ended

    @property
    def provider(self) -> Any:
        return self.state.provider

    @property
    def context_window(self) -> int:
        """The model's input window: the one its provider named in a refusal, else what the model reports."""
        return self.state.provider.windows.get(self.model.name) or self.model.context_window

    @property
    def name(self) -> str:
        return self.state.name or self.id

    def policy_config(self) -> PolicyConfig:
        """The policy's configuration with the person's choices from the log: the command shapes approved for the
        session, the opt-in to token-bearing jobs, and the jobs this session launched (free to cancel)."""
        base = self.config.policy
        return replace(base, bash_allow=set(base.bash_allow) | self.state.bash_allow,
                       hf_token_jobs=base.hf_token_jobs or self.state.hf_token_jobs,
                       session_jobs=frozenset(base.session_jobs) | frozenset(self.state.jobs))

    # ---- events -------------------------------------------------------------------------------------

    def _redact_dict(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.redactor.redact_obj(data)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener) if listener in self.listeners else None

    def emit(self, event: ev.Event) -> ev.Event:
        """Stamp, redact, validate, persist (fsync), apply, fan out. A redaction or validation failure raises:
        nothing is written and nothing changes."""
        with self._lock:
            # Streamed deltas and countdowns are not persisted: they share the last durable seq, leaving no gaps.
            seq = self._seq + (event.kind not in EPHEMERAL_KINDS)
            stamped = replace(event, session_id=self.id, seq=seq, ts=ev.now_iso())
            data = self.store.prepare(stamped)
            stamped = ev.event_from_dict(data)
            self.store.append(data)
            self._seq = seq
            apply(self.state, stamped)
            if stamped.kind not in EPHEMERAL_KINDS:
                self.events.append(stamped)
        for listener in list(self.listeners):
            try:
                listener(stamped)
            except Exception:  # noqa: BLE001 - one broken view must not stop the agent
                pass
        return stamped

    # ---- commands: each records its event before it takes effect ------------------------------------

    def answer_approval(self, nonce: Any, decision: Any, feedback: Any = "", script: Any = None,
                        for_session: bool = False) -> bool:
        """A person's answer from any UI, whenever it arrives (during a turn, after --wait, after a restart);
        thread-safe. Recorded at once; a gate waiting on it wakes, a parked call continues when the turn does.
        False if it changed nothing (unknown or already decided nonce)."""
        with self._lock:
            resolution = self.state.approvals.resolve(nonce, decision, feedback, script, for_session)
            if resolution is None:
                return False
            self.resolve_approval(resolution, by="person")
        return True

    def approve(self, nonce: str, *, feedback: str = "", script: str | None = None, for_session: bool = False) -> bool:
        """Approve as shown, with an edited script (`script`), or for the rest of the session (`for_session`)."""
        return self.answer_approval(nonce, "approve", feedback, script, for_session)

    def deny(self, nonce: str, feedback: str = "") -> bool:
        """Deny; the feedback reaches the model with the denial."""
        return self.answer_approval(nonce, "deny", feedback)

    def resolve_approval(self, resolution: Resolution, by: ev.DecidedBy) -> bool:
        """Record a decision (person, policy, expiry, supersession) and wake the gate waiting on it."""
        record = resolution.record
        with self._lock:
            if record.decision is not None:
                return False
            edited = resolution.edited_script
            self.emit(ev.ApprovalResolved(
                call_id=record.call_id, decision=resolution.decision, by=by, feedback=resolution.feedback,  # type: ignore[arg-type]
                nonce=record.nonce, allow_shape=resolution.allow_shape, edited_script=edited,
                edited_sha256=edited_spec(record.spec, edited).sha256() if edited is not None else None,
            ))
            waiter = self._waiters.pop(record.nonce, None)
        if waiter is not None and not waiter.done():
            waiter.get_loop().call_soon_threadsafe(_wake, waiter)
        return True

    def request_approval(self, call_id: str, tool: str, spec: ActionSpec, cost_usd: float | None,
                         reason: str, checks: list[str] | None = None) -> ApprovalRecord:
        """Ask for a decision about one exact action: recorded first; the fold creates its record (nonce, hash,
        expiry). The loop asks for tool calls; the trace uploader asks once per machine before its first upload."""
        nonce = new_nonce()
        expires_at = datetime.now(UTC) + self.state.approvals.expiry
        with self._lock:
            self.emit(ev.ApprovalRequested(
                call_id=call_id, nonce=nonce, action_sha256=spec.sha256(), cost_usd=cost_usd,
                expires_at=expires_at.isoformat().replace("+00:00", "Z"), tool=tool,
                action=spec.model_dump(mode="json"), budget_left_usd=self.state.budget.left(), reason=reason,
                session_scope=session_shape(spec),
                checks=list(checks or []),
            ))
            return self.state.approvals.records[nonce]  # type: ignore[no-any-return]

    def waiter_for(self, record: ApprovalRecord) -> asyncio.Future[None]:
        """A future the gate awaits until `record` is decided (on the running loop)."""
        with self._lock:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if record.decision is not None:
                future.set_result(None)
            else:
                self._waiters[record.nonce] = future
            return future

    def set_budget(self, cap_usd: float | None) -> None:
        if cap_usd is not None and (cap_usd < 0 or cap_usd != cap_usd):
            raise ValueError("the budget must be a non-negative number of USD")
        budget = self.state.budget
        self.emit(ev.BudgetUpdated(cap_usd=cap_usd, llm_spent_usd=budget.llm_spent_usd,
                                   compute_reserved_usd=budget.compute_reserved_usd,
                                   compute_spent_usd=budget.compute_spent_usd))

    def set_model(self, name: str, model: Model | None = None, api_base: str | None = None) -> None:
        """Raises ModelConfigError (nothing recorded) when the model cannot be used."""
        model = model or resolve_model(name, api_base)
        self.emit(ev.ModelChanged(model=model.name, api_base=getattr(model, "api_base", None)))
        self.model = model
        self.state.transcript.counter = model.count_tokens

    def set_price(self, input_per_mtok: float, output_per_mtok: float) -> None:
        """A price (USD per 1M tokens) for the current model when litellm has none."""
        self.emit(ev.PriceSet(model=self.model.name, input_per_mtok=input_per_mtok, output_per_mtok=output_per_mtok))

    def set_effort(self, effort: str | None) -> None:
        self.emit(ev.EffortChanged(effort=effort or None))

    def set_approve_mode(self, mode: str) -> None:
        if mode not in APPROVE_MODES:
            raise ValueError(f"approve mode must be one of {', '.join(APPROVE_MODES)}, not {mode!r}")
        self.emit(ev.ApproveModeChanged(mode=mode))  # type: ignore[arg-type]

    def set_max_iterations(self, max_iterations: int) -> None:
        if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 1:
            raise ValueError("max iterations must be a positive whole number")
        self.emit(ev.MaxIterationsChanged(max_iterations=max_iterations))

    def allow_hf_token_jobs(self, allowed: bool = True) -> None:
        """`%intern allow hf-token-jobs`: from now on policy may approve HF jobs and sandbox Spaces (within the
        budget), which receive the person's HF token; recorded before it takes effect, and only for this session."""
        if not isinstance(allowed, bool):
            raise ValueError("allowed must be True or False")
        self.emit(ev.HfTokenJobsAllowed(allowed=allowed))

    def set_trace_mode(self, mode: str) -> None:
        if mode not in TRACE_MODES:
            raise ValueError(f"trace mode must be one of {', '.join(TRACE_MODES)}, not {mode!r}")
        self.emit(ev.TraceModeChanged(mode=mode))  # type: ignore[arg-type]
        if self.services.trace_uploader is not None:
            self.services.trace_uploader.set_mode(mode)

    async def cancel_job(self, job_id: str) -> str:
        """Cancel one of the session's jobs (the job card's Cancel); the job's end arrives as job_updated."""
        self.emit(ev.JobCancelRequested(job_id=job_id))
        jobs = self.services.jobs
        if jobs is None:
            message = f"Cancelling job {job_id} is not available in this session."
            self.emit(ev.Notice(message=message, level="warning"))
            return message
        try:
            return await jobs.cancel_job(job_id)
        except Exception as exc:  # noqa: BLE001 - a failed cancel is told, never swallowed
            message = f"Job {job_id} was not cancelled: {exc}"
            self.emit(ev.Notice(message=message, level="warning"))
            return message

    # ---- turns and repair ---------------------------------------------------------------------------

    def turn_began(self) -> None:
        """The loop's turn task starts (on the agent's loop): `cancel` reaches it from any thread."""
        self._loop = asyncio.get_running_loop()
        self._turn_task = asyncio.current_task()
        self.running = True

    def turn_finished(self) -> None:
        self.running = False
        self._turn_task = None

    def cancel(self) -> None:
        """Thread-safe: cancel the running turn at its next await point (it ends with turn_ended cancelled)."""
        task, loop = self._turn_task, self._loop
        if task is None or loop is None or task.done():
            return
        if loop.is_running() and getattr(loop, "_thread_id", None) != threading.get_ident():
            loop.call_soon_threadsafe(task.cancel)
        else:
            task.cancel()

    def continuable_calls(self) -> list[ToolCallPart]:
        """Open calls a continuation (`run_turn(None)`) takes up: those whose approval is pending, or parked by
        a turn that ended waiting for a person and not yet run."""
        calls = []
        for call in self.state.open_calls():
            record = self.state.approvals.for_call(call.id)
            if record is None or record.used:
                continue
            if record.decision is None or call.id in self.state.parked:
                calls.append(call)
        return calls

    def ready_to_continue(self) -> bool:
        """Parked calls whose answers arrived (e.g. before a restart): a continuation would run them now."""
        return any(self.state.approvals.for_call(c.id).decision is not None  # type: ignore[union-attr]
                   for c in self.continuable_calls())

    def repair(self, keep_pending: bool = False) -> list[ToolCallPart]:
        """Aborted results for open tool calls (except, with `keep_pending`, those a continuation takes up)."""
        keep = {c.id for c in self.continuable_calls()} if keep_pending else set()
        aborted = []
        for call in self.state.open_calls():
            if call.id not in keep:
                self.emit(ev.ToolResult(call_id=call.id, tool=call.name, ok=False, status="aborted",
                                        content="Tool call aborted: the run stopped before this call finished."))
                aborted.append(call)
        if not keep:
            # Calls cut off in a log written by an older version: fix the transcript itself.
            aborted += repair_dangling_calls(self.state.transcript)
        return aborted

    def close(self) -> None:
        self.store.close()

    def save_script(self, name: str, source: str) -> Path:
        return self.scripts.save(name, source)
