"""The tool protocol, owned by the engine: what a tool is to the loop, what it gets, what it returns.

The loop depends on these types only; `tools/registry.py` builds concrete tools from plain async functions.
A tool gets typed dependencies through its `ToolContext` (the session's services, its script folder, the
compute ledger, a sub-agent runner), never the Session itself. Read-only and approval metadata live on the tool
(`access`), in one place: the policy reads it from there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from . import events as ev

if TYPE_CHECKING:
    from .approval import ActionSpec
    from .retry import RetryPolicy

EmitFn = Callable[[Any], Any]
# What a tool does, declared once on the tool:
#   read     only reads (docs, papers, datasets, code, files of the workspace): no approval, fit for sub-agents
#   session  changes only the session's own things (workspace files, the plan, new notebook cells): no approval
#   external may spend money, run code, or change something outside the session: the policy decides per call
Access = Literal["read", "session", "external"]


class ToolError(Exception):
    """Raised by a tool to report a failure to the model as an error result (not a crash)."""


class ToolArgumentsError(ValueError):
    """The arguments do not match the tool's schema: an invalid-call result, the tool never runs."""


@dataclass(frozen=True)
class Resolved:
    """A call's arguments as they will run, settled before any card: references (a workspace path, a URL) replaced
    by the bytes they name, so the approval's hash binds the content and the executor runs exactly those bytes."""

    arguments: dict[str, Any]
    # For a Hub write: the target repo's visibility as the Hub reports it (public, private, unknown).
    visibility: str = ""
    # Shown on the card beside the policy's reason, e.g. where the script came from.
    note: str = ""


@dataclass(frozen=True)
class ToolReturn:
    content: str
    ok: bool = True
    # The result only says "nothing new yet" about something still running (a job's logs after a wait): polling,
    # which the doom-loop guard does not count as repetition.
    polling: bool = False


class CostEstimate(Protocol):
    """Worst-case compute cost of an action in USD; None when unknown (then `auto` never approves it)."""

    def __call__(self, spec: ActionSpec) -> float | None: ...


class JobService(Protocol):
    """The session's jobs, as the engine and the UIs use them (the tools' JobManager implements it)."""

    async def cancel_job(self, job_id: str) -> str: ...

    async def close(self) -> None: ...


class TraceUploaderLike(Protocol):
    def set_mode(self, mode: str) -> None: ...

    def close(self) -> None: ...


class SandboxHandle(Protocol):
    url: str
    token: str


@dataclass
class SessionServices:
    """Long-lived helpers of one session, typed: set by the host (Jupyter layer, tests) or created by the tools
    that own them on first use (`jobs`, `sandbox`)."""

    cost_estimator: CostEstimate | Callable[[Any], float | None] | None = None
    retry_policy: RetryPolicy | None = None
    trace_uploader: TraceUploaderLike | None = None
    notifier: Callable[[ev.Event], None] | None = None
    jobs: JobService | None = None
    sandbox: SandboxHandle | None = None
    # Workspace paths this session has read or written: `write`/`edit` refuse files it has not seen.
    files_seen: set[str] = field(default_factory=set)
    # Facts tools found, kept for the pre-launch checks: dataset columns (hf_inspect_dataset) and model parameter
    # counts (or the error the Hub gave). A cache: rebuilt by the calls after a resume, never state.
    dataset_columns: dict[str, list[str]] = field(default_factory=dict)
    model_parameters: dict[str, Any] = field(default_factory=dict)

    def for_subagent(self) -> SessionServices:
        """What a sub-agent shares: prices, retries and the datasets it inspects; not the parent's jobs, sandbox,
        uploads or files."""
        return SessionServices(cost_estimator=self.cost_estimator, retry_policy=self.retry_policy,
                               dataset_columns=self.dataset_columns)


class ScriptStore:
    """The session's `scripts/` folder: every script the agent wrote, as a file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, name: str, source: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / Path(name).name
        path.write_text(source)
        return path

    def count(self, pattern: str = "*") -> int:
        return len(list(self.folder.glob(pattern))) if self.folder.is_dir() else 0


class SecretRegistry(Protocol):
    """The session's redactor as tools see it: a secret a tool meets is masked everywhere from then on."""

    def add_secret(self, value: str, label: str) -> Any: ...


class ComputeLedger(Protocol):
    """The budget as tools see it: a job that ended settles its reservation (recorded as an event)."""

    def settle_compute(self, call_id: str, job_id: str, cost_usd: float) -> None: ...


class SubAgent(Protocol):
    """A child session as the tool that opened it uses it (its own context, its parent's model and budget)."""

    model: Any
    events: list[ev.Event]

    @property
    def usage(self) -> Any: ...

    def subscribe(self, listener: Callable[[ev.Event], None]) -> Callable[[], None]: ...

    async def run_turn(self, prompt: str | None) -> ev.TurnEnded: ...

    def set_max_iterations(self, max_iterations: int) -> None: ...

    def close(self) -> None: ...


class SubAgentRunner(Protocol):
    """Opens child agents that run through the same loop and gate, checked against this session's budget."""

    @property
    def budget(self) -> Any: ...

    def open_subagent(self, tools: ToolSet, *, system_prompt: str, max_iterations: int, label: str) -> SubAgent: ...


def _discard(event: Any) -> None:
    return None


@dataclass
class ToolContext:
    """What a tool may use of its session, each dependency typed."""

    session_id: str
    call_id: str
    workspace: Path
    emit: EmitFn = _discard
    services: SessionServices = field(default_factory=SessionServices)
    scripts: ScriptStore | None = None
    ledger: ComputeLedger | None = None
    subagents: SubAgentRunner | None = None
    redactor: SecretRegistry | None = None
    # The frontend id of the %%intern cell that started the turn: new cells go below it.
    anchor_cell_id: str | None = None
    # The approved action, when the call went through approval (an edited script replaces the model's).
    action: ActionSpec | None = None
    # "person" when a person approved this exact action on its card; only then may local code get credentials.
    approved_by: str | None = None
    # The person opted in to HF jobs and sandbox Spaces approved by policy (`%intern allow hf-token-jobs`).
    hf_token_jobs: bool = False

    def may_send_hf_token(self) -> bool:
        """Whether this call may hand the HF token to code the model wrote on remote hardware (an HF job, a
        sandbox Space): when a person approved it, or the person opted in for the session."""
        return self.approved_by == "person" or self.hf_token_jobs

    @property
    def session_dir(self) -> Path:
        return self.workspace.parent

    def output(self, text: str, job_id: str | None = None) -> None:
        """Stream a chunk of output to the cards while the tool runs."""
        self.emit(ev.ToolOutput(call_id=self.call_id, text=text, job_id=job_id))

    def script_store(self) -> ScriptStore:
        return self.scripts or ScriptStore(self.session_dir / "scripts")


@runtime_checkable
class Tool(Protocol):
    """A tool as the loop sees it: schema for the model, argument validation, metadata, and `run`."""

    name: str
    access: Access

    @property
    def read_only(self) -> bool: ...

    def schema(self) -> dict[str, Any]: ...

    def validate(self, arguments: Any) -> dict[str, Any]: ...

    def resolve(self, arguments: dict[str, Any], ctx: ToolContext) -> Awaitable[Resolved]: ...

    def run(self, arguments: dict[str, Any], ctx: ToolContext) -> Awaitable[ToolReturn]: ...


class ToolSet(Protocol):
    """The tools of one session (the tools package's ToolRegistry implements it)."""

    def get(self, name: str) -> Tool | None: ...

    @property
    def names(self) -> list[str]: ...

    def schemas(self) -> list[dict[str, Any]]: ...

    def __iter__(self) -> Any: ...


def needs_no_approval(tool: Tool | None) -> bool:
    """The tool declared that it only reads or changes only the session (`access`)."""
    return tool is not None and tool.access in ("read", "session")
