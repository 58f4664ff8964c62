"""A session's state as a fold of its event log: `apply(state, event) -> state`, the same live and on resume.

`Session.emit` writes an event (fsync'd) and only then applies it; `Session.resume` folds the log through the
same function. `apply` does no I/O and reads no clock or environment, so the state after any prefix of the log
is the state the live session had after the same events (the property test checks this at every prefix). It
mirrors the panel's reducer (`labextension/src/reducer.ts`), except that it updates the state in place, so a
replay is linear in the log's length.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import events as ev
from .approval import ActionSpec, ApprovalBook
from .budget import Budget
from .messages import (
    AssistantMessage,
    SystemMessage,
    ToolCallPart,
    ToolResultMessage,
    Transcript,
    UserMessage,
)
from .provider_state import ProviderState
from .store import EPHEMERAL_KINDS, LogReadResult

# Points of a job's metrics kept per series (the plot needs the shape, not every step).
MAX_METRIC_POINTS = 400


def fence(label: str, text: str) -> str:
    """Untrusted text enters the prompt fenced as data (see the system prompt)."""
    return f'<data source="{label}">\n{text.replace("</data>", "</ data>")}\n</data>'


def prompt_text(prompt: ev.UserPrompt) -> str:
    """What the model reads for a prompt: the person's text, then the kernel digest as fenced data."""
    if not prompt.kernel_digest:
        return prompt.text
    return f"{prompt.text}\n\nWhat ran in the kernel since the last prompt:\n{fence('kernel', prompt.kernel_digest)}"


@dataclass
class TotalUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    # Model calls whose price is unknown: their spend is not in cost_usd (shown as "cost unknown").
    unpriced_calls: int = 0

    @property
    def cache_hit_share(self) -> float:
        return self.cache_read_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


@dataclass
class SessionState:
    """Everything about a session that its log determines. Live-only things (the model object, futures a
    gate waits on, the running task) stay on the Session."""

    session_id: str = ""
    name: str = ""
    seq: int = 0
    model: str = ""
    approve_mode: ev.ApproveMode = "ask"
    reasoning_effort: str | None = None
    # The --api-base of the model, if the person gave one.
    api_base: str | None = None
    max_iterations: int = 300
    trace_mode: ev.TraceMode = "private"
    workspace: str = ""
    cwd: str = ""
    demo: bool = False
    transcript: Transcript = field(default_factory=Transcript)
    plan: list[dict[str, Any]] = field(default_factory=list)
    usage: TotalUsage = field(default_factory=TotalUsage)
    budget: Budget = field(default_factory=Budget)
    # What the session learned about its models: effort caps, prices, context windows, unpriced models.
    provider: ProviderState = field(default_factory=ProviderState)
    # False for a sub-agent sharing its parent's Budget object: its fold leaves that budget to the parent's log.
    owns_budget: bool = True
    approvals: ApprovalBook = field(default_factory=ApprovalBook)
    # Command shapes the person approved for the rest of the session (`allow_list.session_shape`).
    bash_allow: set[str] = field(default_factory=set)
    # The person opted in to HF jobs and sandbox Spaces approved by policy (they receive the HF token).
    hf_token_jobs: bool = False
    jobs: dict[str, ev.JobUpdated] = field(default_factory=dict)
    job_metrics: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    anchor_cell_id: str | None = None
    # Cells of cell_insert events already written into the notebook, by call id: who wrote them (panel, kernel).
    placed: dict[str, str] = field(default_factory=dict)
    # The tool calls of the last assistant message and the results that came back so far.
    batch: list[ToolCallPart] = field(default_factory=list)
    batch_results: dict[str, ToolResultMessage] = field(default_factory=dict)
    # Calls left open by a turn that ended waiting for a person (--wait): their answers continue them,
    # even across a restart. Calls cut off by a crash are not parked: resume gives them aborted results.
    parked: set[str] = field(default_factory=set)
    turn_open: bool = False
    # The reason, once a session_ended event was recorded.
    ended: str | None = None

    @classmethod
    def initial(cls, system_prompt: str) -> SessionState:
        state = cls()
        state.transcript.append(SystemMessage(system_prompt))
        return state

    def open_calls(self) -> list[ToolCallPart]:
        """Calls of the current batch without a result, in call order."""
        return [c for c in self.batch if c.id not in self.batch_results]

    def snapshot(self) -> dict[str, Any]:
        """A plain, comparable copy of the state (later events do not change it)."""
        approvals = {nonce: (r.call_id, r.spec.sha256(), r.cost_usd, r.expires_at.isoformat(), r.decision,
                             r.feedback, r.approved_spec.sha256() if r.approved_spec else None, r.allow_shape,
                             r.used) for nonce, r in self.approvals.records.items()}
        return {
            "session_id": self.session_id, "name": self.name, "seq": self.seq, "model": self.model,
            "approve_mode": self.approve_mode, "reasoning_effort": self.reasoning_effort, "api_base": self.api_base,
            "provider": (dict(self.provider.effort_caps), dict(self.provider.prices), dict(self.provider.windows),
                         sorted(self.provider.unpriced)),
            "max_iterations": self.max_iterations, "trace_mode": self.trace_mode, "workspace": self.workspace,
            "cwd": self.cwd, "demo": self.demo, "messages": list(self.transcript.messages),
            "plan": json.dumps(self.plan, sort_keys=True), "usage": dataclasses.asdict(self.usage),
            "budget": (self.budget.cap_usd, round(self.budget.llm_spent_usd, 9),
                       round(self.budget.compute_spent_usd, 9), dict(self.budget.reservations),
                       dict(self.budget.unpriced), self.budget.unpriced_settled),
            "approvals": approvals, "bash_allow": sorted(self.bash_allow), "hf_token_jobs": self.hf_token_jobs,
            "jobs": {k: v.to_dict() for k, v in self.jobs.items()},
            "job_metrics": {job: {name: list(values) for name, values in series.items()}
                            for job, series in self.job_metrics.items()},
            "anchor_cell_id": self.anchor_cell_id, "placed": dict(self.placed), "batch": list(self.batch),
            "batch_results": dict(self.batch_results), "parked": sorted(self.parked),
            "turn_open": self.turn_open, "ended": self.ended,
        }


def _append_result(state: SessionState, result: ToolResultMessage) -> None:
    state.batch_results[result.call_id] = result
    state.parked.discard(result.call_id)
    if all(c.id in state.batch_results for c in state.batch):
        # Results join the transcript in call order, whatever order they finished in.
        for call in state.batch:
            state.transcript.append(state.batch_results[call.id])
        state.batch, state.batch_results = [], {}


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def apply(state: SessionState, event: ev.Event) -> SessionState:
    """Fold one event into the state. Deterministic, no I/O; whatever can fail is checked before anything
    changes, so an event is applied whole or not at all."""
    match event:
        case ev.SessionStarted():
            state.session_id = event.session_id or state.session_id
            state.name = event.name or state.name or event.session_id
            state.model, state.approve_mode = event.model, event.approve_mode
            state.budget.cap_usd, state.max_iterations = event.budget_usd, event.max_iterations
            state.workspace, state.cwd, state.demo = event.workspace, event.cwd, event.demo
            state.reasoning_effort, state.api_base = event.reasoning_effort, event.api_base
        case ev.UserPrompt(cell_id=cell_id):
            state.transcript.append(UserMessage(prompt_text(event)))
            state.anchor_cell_id = cell_id or state.anchor_cell_id
            state.turn_open, state.parked = True, set()
        case ev.AssistantMessage(text=text, tool_calls=calls, thinking_blocks=thinking):
            parts = tuple(ToolCallPart(str(c["id"]), str(c["name"]), str(c["arguments"])) for c in calls)
            state.transcript.append(AssistantMessage(text, parts, tuple(thinking) if thinking else None))
            state.batch, state.batch_results = list(parts), {}
        case ev.ToolResult(call_id=call_id, tool=tool, content=content, ok=ok):
            _append_result(state, ToolResultMessage(call_id, tool, content, ok))
        case ev.ToolStarted(call_id=call_id):
            # The approval this call ran under is used up: it can never run the action again.
            record = state.approvals.for_call(call_id)
            if record is not None and record.decision == "approved":
                record.used = True
        case ev.GuardFired(message=message):
            state.transcript.append(UserMessage(message, synthetic=True))
        case ev.Compacted(summary=summary, start=start, end=end):
            state.transcript.replace(start, end, UserMessage(fence("compaction summary", summary), synthetic=True))
        case ev.PlanUpdated(todos=todos):
            state.plan = [dict(t) for t in todos]
        case ev.Usage():
            usage = state.usage
            usage.prompt_tokens += event.prompt_tokens
            usage.completion_tokens += event.completion_tokens
            usage.cache_read_tokens += event.cache_read_tokens
            usage.cache_write_tokens += event.cache_write_tokens
            if event.cost_usd is None:
                usage.unpriced_calls += 1  # unknown price: never counted as $0.00
            else:
                usage.cost_usd += event.cost_usd
                if state.owns_budget:
                    state.budget.add_llm(event.cost_usd)
            state.provider.apply(event)
        case ev.EffortFallback() | ev.PriceSet() | ev.ContextWindowLearned():
            state.provider.apply(event)
        case ev.BudgetUpdated(cap_usd=cap) if state.owns_budget:
            state.budget.cap_usd = cap
        case ev.ComputeReserved(call_id=call_id, amount_usd=amount) if state.owns_budget:
            state.budget.reservations[call_id] = max(0.0, amount)
        case ev.ComputeReleased(call_id=call_id) if state.owns_budget:
            state.budget.release(call_id)
        case ev.ComputeSettled(call_id=call_id, cost_usd=cost) if state.owns_budget:
            state.budget.settle(call_id, cost)
        case ev.ComputeUnpriced(call_id=call_id) if state.owns_budget:
            state.budget.unpriced[call_id] = event.reason or event.tool or "unknown cost"
        case ev.HfTokenJobsAllowed(allowed=allowed):
            state.hf_token_jobs = allowed
        case ev.ApprovalRequested(call_id=call_id, nonce=nonce, action=action, cost_usd=cost):
            if nonce not in state.approvals.records:
                spec, expires_at = ActionSpec.model_validate(action), _timestamp(event.expires_at)
                state.approvals.create(call_id, spec, cost, nonce=nonce, expires_at=expires_at)
        case ev.ApprovalResolved(nonce=nonce, decision=decision, allow_shape=shape):
            # `allow_program` (older logs: a program by name) grants nothing any more; see allow_list.py.
            record = state.approvals.records.get(nonce)
            if record is not None and record.decision is None:
                state.approvals.record_decision(record, decision, event.feedback, event.edited_script, shape,
                                                by=event.by)
                if shape and decision == "approved":
                    state.bash_allow.add(shape)
        case ev.ApproveModeChanged(mode=mode):
            state.approve_mode = mode
        case ev.EffortChanged(effort=effort):
            state.reasoning_effort = effort
        case ev.MaxIterationsChanged(max_iterations=n):
            state.max_iterations = n
        case ev.TraceModeChanged(mode=mode):
            state.trace_mode = mode
        case ev.ModelChanged(model=name, api_base=api_base):
            state.model, state.api_base = name, api_base
        case ev.JobUpdated(job_id=job_id):
            state.jobs[job_id] = event
        case ev.JobMetrics(job_id=job_id, points=points):
            series = state.job_metrics.setdefault(job_id, {})
            for point in points:
                for name, value in point.items():
                    values = series.setdefault(name, [])
                    values.append(value)
                    del values[:-MAX_METRIC_POINTS]
        case ev.CellPlaced(call_id=call_id, by=by, how=how) if how != "missing":
            state.placed.setdefault(call_id, by)
        case ev.TurnEnded(reason=reason):
            state.turn_open = False
            if reason == "awaiting_approval":
                state.parked = {c.id for c in state.open_calls() if state.approvals.for_call(c.id) is not None}
        case ev.SessionEnded(reason=reason):
            state.ended = reason or "ended"
    if event.kind not in EPHEMERAL_KINDS:
        state.seq = max(state.seq, event.seq)
    return state


@dataclass
class Restored:
    """A log read back and folded: what `Session.resume` hands the constructor."""

    log: LogReadResult
    state: SessionState
    # Records the fold could not apply ("seq N: reason"); the log's undecodable lines are in log.bad_lines.
    bad_records: list[str] = field(default_factory=list)


def fold_log(log: LogReadResult, system_prompt: str) -> Restored:
    state = SessionState.initial(system_prompt)
    restored = Restored(log, state)
    applied: list[ev.Event] = []
    for event in log.events:
        try:
            apply(state, event)
        except Exception as exc:  # noqa: BLE001 - apply checks before it changes anything: skip, report
            restored.bad_records.append(f"seq {event.seq}: {event.kind}: {type(exc).__name__}: {exc}"[:200])
            continue
        applied.append(event)
    log.events = applied
    return restored


def replay(events: list[ev.Event], system_prompt: str) -> SessionState:
    state = SessionState.initial(system_prompt)
    for event in events:
        apply(state, event)
    return state
