"""Typed session events: the only thing UIs, the store, the exporter and the trace writer consume.

Every event is a frozen dataclass with a ``kind`` discriminator, validated by one pydantic ``TypeAdapter``
(strict: no coercion, no unknown fields), so a malformed event is rejected whole, never half-applied.
``to_dict`` / ``decode_event`` give the JSON form written to ``events.jsonl`` and sent over the ``mlintern``
comm. ``labextension/src/events.ts`` is generated from this file's JSON Schema (``scripts/gen_events_ts.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

TurnEndReason = Literal["done", "max_iterations", "cancelled", "error", "awaiting_approval", "budget"]
Decision = Literal["approved", "denied", "expired", "superseded"]
DecidedBy = Literal["person", "policy"]
ToolStatus = Literal["ok", "error", "invalid", "denied", "aborted"]
ApproveMode = Literal["ask", "auto", "deny"]
TraceMode = Literal["private", "public", "off"]
# Every stage after which a job never runs again: huggingface_hub's TERMINAL_JOB_STAGES (COMPLETED, CANCELED,
# ERROR, DELETED) plus TIMEOUT, which the local runtime and the hard-timeout backstop report.
JOB_TERMINAL_STATUSES: tuple[str, ...] = ("COMPLETED", "CANCELED", "ERROR", "DELETED", "TIMEOUT")


class Todo(TypedDict):
    id: str
    content: str
    status: str


def job_is_terminal(status: str) -> bool:
    return status.upper() in JOB_TERMINAL_STATUSES or status.upper() == "CANCELLED"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class BaseEvent:
    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)

    session_id: str = ""
    seq: int = 0
    ts: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class SessionStarted(BaseEvent):
    kind: Literal["session_started"] = "session_started"
    model: str
    approve_mode: ApproveMode = "ask"
    budget_usd: float | None = None
    max_iterations: int = 300
    workspace: str = ""
    demo: bool = False
    # The session's reasoning effort (low | medium | high | max, None for none) and the --api-base, if any.
    reasoning_effort: str | None = None
    api_base: str | None = None
    # A readable short name for `%intern sessions` (the id is a UUID); older logs have none.
    name: str = ""
    # The notebook's directory (the kernel's working directory): the trace's `cwd`.
    cwd: str = ""


@dataclass(frozen=True, kw_only=True)
class UserPrompt(BaseEvent):
    kind: Literal["user_prompt"] = "user_prompt"
    text: str
    cell_id: str | None = None
    # Fenced digest of what ran in the kernel since the last prompt; joins the context as data.
    kernel_digest: str | None = None


@dataclass(frozen=True, kw_only=True)
class PromptQueued(BaseEvent):
    kind: Literal["prompt_queued"] = "prompt_queued"
    text: str
    position: int = 1


@dataclass(frozen=True, kw_only=True)
class AssistantDelta(BaseEvent):
    kind: Literal["assistant_delta"] = "assistant_delta"
    text: str


@dataclass(frozen=True, kw_only=True)
class AssistantMessage(BaseEvent):
    kind: Literal["assistant_message"] = "assistant_message"
    text: str
    # [{"id", "name", "arguments"}] with arguments as the raw JSON string the model produced.
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    model: str = ""
    thinking_blocks: list[dict[str, Any]] | None = None


@dataclass(frozen=True, kw_only=True)
class ToolCall(BaseEvent):
    kind: Literal["tool_call"] = "tool_call"
    call_id: str
    tool: str
    arguments: dict[str, Any] | str = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ApprovalRequested(BaseEvent):
    kind: Literal["approval_requested"] = "approval_requested"
    call_id: str
    nonce: str
    action_sha256: str
    cost_usd: float | None
    expires_at: str
    tool: str = ""
    # The ActionSpec as shown to the person: tool, operation, hardware, timeout, namespace, image, script.
    action: dict[str, Any] = field(default_factory=dict)
    budget_left_usd: float | None = None
    reason: str = ""
    # What "approve for this session" would allow from then on (a plain bash program), shown on the cards;
    # None when it is not offered for this action.
    session_scope: str | None = None
    # Pre-launch checks (warnings about the action, e.g. a training script that never pushes): facts, not blocks.
    checks: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ApprovalResolved(BaseEvent):
    kind: Literal["approval_resolved"] = "approval_resolved"
    call_id: str
    decision: Decision
    by: DecidedBy
    feedback: str = ""
    nonce: str = ""
    # Set when the person approved an edited script: the hash of the bytes that will run.
    edited_sha256: str | None = None
    # Older logs: the bash program a person allowed for the session by name. No longer granted by anything (a
    # program's name let `CUDA_VISIBLE_DEVICES=0 rm -rf DIR` through); kept so those logs still read.
    allow_program: str | None = None
    # The script the person approved instead of the model's (its hash is edited_sha256); replayed on resume.
    edited_script: str | None = None
    # Set when the person chose "approve for this session": the command shape it allows, e.g. `wc -l <arg>`.
    allow_shape: str | None = None


@dataclass(frozen=True, kw_only=True)
class ToolStarted(BaseEvent):
    kind: Literal["tool_started"] = "tool_started"
    call_id: str
    tool: str


@dataclass(frozen=True, kw_only=True)
class ToolOutput(BaseEvent):
    kind: Literal["tool_output"] = "tool_output"
    call_id: str
    text: str
    job_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ToolResult(BaseEvent):
    kind: Literal["tool_result"] = "tool_result"
    call_id: str
    tool: str
    ok: bool
    content: str
    status: ToolStatus = "ok"
    duration_s: float = 0.0


SubagentStep = Literal["started", "tool_call", "tool_result", "notice", "ended"]


@dataclass(frozen=True, kw_only=True)
class SubagentProgress(BaseEvent):
    """One step of a sub-agent (e.g. `research`) running inside the parent's tool call `call_id`: UIs group every
    step of one call into the card of that call instead of showing a card per step."""

    kind: Literal["subagent_progress"] = "subagent_progress"
    call_id: str
    agent: str = "research"
    step: SubagentStep = "tool_call"
    tool: str = ""
    text: str = ""
    ok: bool = True


@dataclass(frozen=True, kw_only=True)
class PlanUpdated(BaseEvent):
    kind: Literal["plan_updated"] = "plan_updated"
    # status: pending | in_progress | completed
    todos: list[Todo] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Usage(BaseEvent):
    kind: Literal["usage"] = "usage"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    # None when the price of the model is unknown: never recorded as $0.00.
    cost_usd: float | None = 0.0
    model: str = ""


@dataclass(frozen=True, kw_only=True)
class Compacted(BaseEvent):
    kind: Literal["compacted"] = "compacted"
    summary: str
    # Transcript indices [start, end) replaced by the summary; lets resume replay the compaction exactly.
    start: int = 0
    end: int = 0
    tokens_before: int = 0
    tokens_after: int = 0


@dataclass(frozen=True, kw_only=True)
class GuardFired(BaseEvent):
    kind: Literal["guard_fired"] = "guard_fired"
    guard: str
    message: str


@dataclass(frozen=True, kw_only=True)
class BudgetUpdated(BaseEvent):
    """The cap changed (the spend figures are a snapshot for views; the fold takes only the cap)."""

    kind: Literal["budget_updated"] = "budget_updated"
    cap_usd: float | None
    llm_spent_usd: float = 0.0
    compute_reserved_usd: float = 0.0
    compute_spent_usd: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ComputeReserved(BaseEvent):
    """A call's worst-case compute cost is held against the cap before it launches."""

    kind: Literal["compute_reserved"] = "compute_reserved"
    call_id: str
    amount_usd: float


@dataclass(frozen=True, kw_only=True)
class ComputeReleased(BaseEvent):
    """A reservation is given back: the call failed before anything ran."""

    kind: Literal["compute_released"] = "compute_released"
    call_id: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ComputeSettled(BaseEvent):
    """A job or sandbox ended: its reservation becomes the real spend, priced from the same source as the
    estimate; when that price is unknown the reserved worst case is charged. None only for an unpriced action
    (`compute_unpriced`) whose cost stays unknown."""

    kind: Literal["compute_settled"] = "compute_settled"
    call_id: str
    job_id: str = ""
    cost_usd: float | None = 0.0


@dataclass(frozen=True, kw_only=True)
class ComputeUnpriced(BaseEvent):
    """A person approved an action that spends money at a price nobody knows: nothing could be reserved, so the
    budget says so (auto approves no further spending until it settles) instead of counting it as $0."""

    kind: Literal["compute_unpriced"] = "compute_unpriced"
    call_id: str
    tool: str = ""
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class HfTokenJobsAllowed(BaseEvent):
    """The person's choice for this session (`%intern allow hf-token-jobs`): whether policy may approve HF jobs and
    sandbox Spaces, which receive the HF token. Without it a person approves each one."""

    kind: Literal["hf_token_jobs_allowed"] = "hf_token_jobs_allowed"
    allowed: bool = True


@dataclass(frozen=True, kw_only=True)
class ApproveModeChanged(BaseEvent):
    kind: Literal["approve_mode_changed"] = "approve_mode_changed"
    mode: ApproveMode


@dataclass(frozen=True, kw_only=True)
class MaxIterationsChanged(BaseEvent):
    kind: Literal["max_iterations_changed"] = "max_iterations_changed"
    max_iterations: int


@dataclass(frozen=True, kw_only=True)
class TraceModeChanged(BaseEvent):
    kind: Literal["trace_mode_changed"] = "trace_mode_changed"
    mode: TraceMode


@dataclass(frozen=True, kw_only=True)
class JobCancelRequested(BaseEvent):
    kind: Literal["job_cancel_requested"] = "job_cancel_requested"
    job_id: str
    by: DecidedBy = "person"


@dataclass(frozen=True, kw_only=True)
class JobMetrics(BaseEvent):
    """Numbers parsed from a chunk of a job's log (one dict per log line that had any): the cards' plots."""

    kind: Literal["job_metrics"] = "job_metrics"
    call_id: str
    job_id: str
    points: list[dict[str, float]] = field(default_factory=list)
    # "trackio": what trackio recorded in its local store, which replaces the numbers parsed from the log.
    source: Literal["log", "trackio"] = "log"


@dataclass(frozen=True, kw_only=True)
class JobUpdated(BaseEvent):
    kind: Literal["job_updated"] = "job_updated"
    call_id: str
    job_id: str
    status: str
    runtime: Literal["hf", "local"] = "local"
    hardware: str = ""
    url: str = ""
    # Cost so far; None when its price is unknown (the job's reservation is charged when it ends, never $0).
    cost_usd: float | None = 0.0
    # trackio: the project the job logs to (TRACKIO_PROJECT) and, on HF Jobs, its dashboard Space's URL.
    trackio_project: str = ""
    dashboard_url: str = ""
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class CellInsert(BaseEvent):
    kind: Literal["cell_insert"] = "cell_insert"
    call_id: str
    source: str
    cell_type: Literal["code", "markdown"] = "code"
    # The frontend cell id of the %%intern cell that started the turn: the new cell goes right below it.
    anchor_cell_id: str | None = None
    script_path: str | None = None


@dataclass(frozen=True, kw_only=True)
class CellPlaced(BaseEvent):
    """Who wrote a cell_insert's cell into the notebook (its stable id is session id + call id): the side panel
    (it acknowledges over the comm) or the kernel's set_next_input fallback. The first placement wins; a panel
    attaching later finds the cell instead of inserting it again."""

    kind: Literal["cell_placed"] = "cell_placed"
    call_id: str
    by: Literal["panel", "kernel"]
    # inserted: this writer added it; found: it was already in the notebook; missing: a placement the panel
    # was told about (the kernel's) is not in the notebook, e.g. the person deleted it.
    how: Literal["inserted", "found", "missing"] = "inserted"


@dataclass(frozen=True, kw_only=True)
class Notice(BaseEvent):
    kind: Literal["notice"] = "notice"
    message: str
    level: Literal["info", "warning"] = "info"


@dataclass(frozen=True, kw_only=True)
class ModelChanged(BaseEvent):
    kind: Literal["model_changed"] = "model_changed"
    model: str
    api_base: str | None = None


@dataclass(frozen=True, kw_only=True)
class EffortChanged(BaseEvent):
    """The person set the session's reasoning effort (`--effort`, `%intern effort`)."""

    kind: Literal["effort_changed"] = "effort_changed"
    effort: str | None = None


@dataclass(frozen=True, kw_only=True)
class EffortFallback(BaseEvent):
    """A model refused an effort level (or effort at all): from now on it gets at most `effective`."""

    kind: Literal["effort_fallback"] = "effort_fallback"
    model: str
    requested: str | None = None
    effective: str | None = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class PriceSet(BaseEvent):
    """A price the person gave for a model litellm has no price for (`%intern price IN OUT`, USD per 1M tokens)."""

    kind: Literal["price_set"] = "price_set"
    model: str
    input_per_mtok: float
    output_per_mtok: float


@dataclass(frozen=True, kw_only=True)
class ContextWindowLearned(BaseEvent):
    """The provider named the model's input window in a refusal; compaction uses it from now on."""

    kind: Literal["context_window_learned"] = "context_window_learned"
    model: str
    tokens: int


@dataclass(frozen=True, kw_only=True)
class RetryWait(BaseEvent):
    """A model call waits before its next attempt; sent every second as a countdown (not persisted)."""

    kind: Literal["retry_wait"] = "retry_wait"
    reason: str
    seconds_left: int
    attempt: int = 1
    max_attempts: int = 1


@dataclass(frozen=True, kw_only=True)
class Error(BaseEvent):
    kind: Literal["error"] = "error"
    message: str
    error_type: str = ""
    # What the person should change: an environment variable, a model id, a budget.
    hint: str = ""


@dataclass(frozen=True, kw_only=True)
class TurnEnded(BaseEvent):
    kind: Literal["turn_ended"] = "turn_ended"
    reason: TurnEndReason
    iterations: int = 0
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class SessionEnded(BaseEvent):
    kind: Literal["session_ended"] = "session_ended"
    reason: str = ""


Event = (
    SessionStarted
    | UserPrompt
    | PromptQueued
    | AssistantDelta
    | AssistantMessage
    | ToolCall
    | ApprovalRequested
    | ApprovalResolved
    | ToolStarted
    | ToolOutput
    | ToolResult
    | SubagentProgress
    | PlanUpdated
    | Usage
    | Compacted
    | GuardFired
    | BudgetUpdated
    | ComputeReserved
    | ComputeReleased
    | ComputeSettled
    | ComputeUnpriced
    | HfTokenJobsAllowed
    | ApproveModeChanged
    | MaxIterationsChanged
    | TraceModeChanged
    | JobCancelRequested
    | JobMetrics
    | JobUpdated
    | CellInsert
    | CellPlaced
    | Notice
    | ModelChanged
    | EffortChanged
    | EffortFallback
    | PriceSet
    | ContextWindowLearned
    | RetryWait
    | Error
    | TurnEnded
    | SessionEnded
)

EVENT_TYPES: dict[str, type[BaseEvent]] = {
    cls.__dataclass_fields__["kind"].default: cls  # type: ignore[misc]
    for cls in Event.__args__  # type: ignore[attr-defined]
}


class EventDecodeError(ValueError):
    """A record that is not a valid event of this schema; the message says which field and why."""


@functools.cache
def event_adapter() -> TypeAdapter[Event]:
    return TypeAdapter(Annotated[Event, Field(discriminator="kind")])  # type: ignore[arg-type]


def _reason(exc: ValidationError, kind: Any) -> str:
    problems = []
    for error in exc.errors()[:3]:
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            return f"unknown event kind {kind!r}" if kind is not None else "no `kind` field"
        where = ".".join(str(p) for p in error["loc"][1:]) or "kind"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def decode_event(raw: str | bytes) -> Event:
    """One event from its JSON text, strictly: a wrong type, a missing or unknown field or an unknown kind
    raises EventDecodeError, so nothing of a malformed record is ever applied."""
    try:
        return event_adapter().validate_json(raw)
    except ValidationError as exc:
        kind = None
        try:
            data = json.loads(raw)
            kind = data.get("kind") if isinstance(data, dict) else None
        except ValueError:
            raise EventDecodeError(f"not JSON: {exc.errors()[0]['msg']}") from None
        raise EventDecodeError(f"bad {kind or 'untyped'} event: {_reason(exc, kind)}") from None


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its JSON form (see `decode_event`)."""
    return decode_event(json.dumps(data))


def events_json_schema() -> dict[str, Any]:
    """The JSON Schema of every event: the source `labextension/src/events.ts` is generated from."""
    return event_adapter().json_schema(mode="validation")
