"""The default approval policy (DESIGN section 5): which actions need approval, and which `auto` may approve.

Pure: it reads the ActionSpec (what the call will do, its script resolved and the target repo's visibility
checked before the card) and the session's PolicyConfig (the person's choices, from the event log). Every branch
that is not sure asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .allow_list import session_shape
from .approval import ActionSpec

# hf_jobs operations that only read. `cancel` is not one: it stops someone's job (see `_cancel`).
JOB_READS = frozenset({"ps", "logs", "inspect", "hardware", "scheduled ps", "scheduled inspect"})
JOB_LAUNCHES = frozenset({"run", "uv", "scheduled run", "scheduled uv", "scheduled resume"})
REPO_FILE_READS = frozenset({"list", "read", "info"})
REPO_GIT_READS = frozenset({"list_refs", "list_branches", "list_tags", "list_prs", "get_pr", "info", "list"})
# Job flavours without an accelerator (huggingface_hub's JobHardware); only these count as CPU jobs.
CPU_FLAVORS = frozenset({"cpu-basic", "cpu-upgrade", "cpu-performance", "cpu-xl"})
# Never covered by `auto`: a person decides these even when the budget would allow them.
NEVER_AUTO_MARKERS = ("scheduled", "delete", "visibility", "settings", "update_repo", "merge")
# Said on every card of an action that hands the HF token to code the model wrote (an HF job, a sandbox Space).
TOKEN_NOTE = "this job receives your HF token"
OPT_IN_HINT = "auto mode approves that only after `%intern allow hf-token-jobs`, so a person decides"


@dataclass(frozen=True)
class PolicyDecision:
    needs_approval: bool
    reason: str
    # False for what `auto` must never decide alone: scheduled jobs, deletions, visibility changes.
    auto_allowed: bool = True
    # Spends compute money (reserved against the budget before launch).
    spends: bool = False
    # Under `auto`, a person decides (instead of a denial) what policy may not approve: local code where no
    # OS sandbox can run, jobs that receive the HF token before the opt-in, public repos, other jobs' cancels.
    person_in_auto: bool = False


@dataclass
class PolicyConfig:
    confirm_cpu_jobs: bool = True
    # Command shapes the person approved for this session (`allow_list.session_shape`), from the log.
    bash_allow: set[str] = field(default_factory=set)
    read_only_mcp_servers: set[str] = field(default_factory=set)
    # MCP tools (full names) a trusted server declared read-only: the Hugging Face MCP server's readOnlyHint tools.
    read_only_mcp_tools: set[str] = field(default_factory=set)
    # The Hub endpoint whose /docs/ pages fetch_hf_docs reads freely (any other page asks in `ask` mode).
    hf_endpoint: str = "https://huggingface.co"
    # Why no OS sandbox can run local code here (None: bubblewrap works); then `auto` asks a person for it.
    no_local_sandbox: str | None = field(default_factory=lambda: _sandbox_unavailable())
    # The person opted in for this session (`%intern allow hf-token-jobs`): policy may approve HF jobs and sandbox
    # Spaces, which receive the HF token. Without it a person approves each one.
    hf_token_jobs: bool = False
    # Jobs this session launched (from its event log): only these are cancelled without asking.
    session_jobs: frozenset[str] = frozenset()


def _sandbox_unavailable() -> str | None:
    from ..tools.os_sandbox import unavailable_reason  # the tools package imports the engine

    return unavailable_reason()


def _is_docs_url(url: str, endpoint: str) -> bool:
    from ..tools.config import is_docs_url

    return is_docs_url(url, endpoint)


def _is_cpu(flavor: str) -> bool:
    # Exact names only: an unknown "cpu-something" is unknown hardware, and unknown hardware asks.
    return flavor in CPU_FLAVORS


def _makes_public(spec: ActionSpec) -> bool:
    return '"private":false' in spec.arguments_json.replace(" ", "").lower()


def _never_auto(spec: ActionSpec) -> bool:
    return any(marker in spec.operation for marker in NEVER_AUTO_MARKERS) or _makes_public(spec)


def policy(spec: ActionSpec, config: PolicyConfig | None = None, *, declared_read_only: bool = False) -> PolicyDecision:
    """The default policy of DESIGN section 5; every branch that is not sure asks.

    `declared_read_only` is what the tool itself declares (`access` "read" or "session", see agent/tooling.py):
    the one place that metadata lives. It never overrides the rules for the built-in tools that spend money or
    write to the Hub, nor the per-server rule for MCP tools.
    """
    config = config or PolicyConfig()
    op = spec.operation
    match spec.tool:
        case "hf_jobs":
            return _jobs(spec, config)
        case "hf_repo_files":
            if op in REPO_FILE_READS:
                return PolicyDecision(False, f"hf_repo_files {op} only reads")
            return _hub_write(spec, f"writes to the Hub ({op or 'unknown operation'})")
        case "hf_repo_git":
            if op in REPO_GIT_READS:
                return PolicyDecision(False, f"hf_repo_git {op} only reads")
            return _hub_write(spec, f"changes the Hub ({op or 'unknown operation'})")
        case "sandbox_create":
            flavor = spec.hardware_flavor or "unknown hardware"
            return _token_bearing(f"starts a sandbox on paid Space hardware ({flavor}); {TOKEN_NOTE} (the Space's "
                                  "HF_TOKEN secret, which every command run there can read)", config)
        case "bash":
            shape = session_shape(spec)
            if shape and shape in config.bash_allow:
                return PolicyDecision(False, f"`{shape}` was approved for this session")
            if '"sandbox":true' in spec.arguments_json:
                # The Space holds the HF token (sandbox_create gives it one), so this is token-bearing code too.
                reason = "runs a shell command in the GPU sandbox, where commands can read your HF token"
                if config.hf_token_jobs:
                    return PolicyDecision(True, reason)
                return PolicyDecision(True, f"{reason}; {OPT_IN_HINT}", auto_allowed=False, person_in_auto=True)
            return _local_code("runs a shell command", config)
        case "notify":
            return PolicyDecision(False, "sends a notification to a configured destination")
        case "fetch_hf_docs" if not _is_docs_url(spec.target, config.hf_endpoint):
            return PolicyDecision(True, "fetches a page outside the Hugging Face docs (without credentials); its "
                                  "address could carry data out")
        case tool if declared_read_only and "__" not in tool:
            return PolicyDecision(False, f"{tool} acts only inside the session or reads")
        case tool if "__" in tool:
            server = tool.split("__", 1)[0]
            if server in config.read_only_mcp_servers:
                return PolicyDecision(False, f"MCP server {server!r} is configured read-only")
            if tool in config.read_only_mcp_tools:
                return PolicyDecision(False, f"{tool} is read-only (declared by the Hugging Face MCP server)")
            return PolicyDecision(True, f"calls MCP server {server!r}")
        case _:
            return PolicyDecision(True, f"unknown tool {spec.tool!r}", auto_allowed=False)


def _jobs(spec: ActionSpec, config: PolicyConfig) -> PolicyDecision:
    op = spec.operation
    if op == "cancel":
        return _cancel(spec, config)
    if op in JOB_READS:
        return PolicyDecision(False, f"hf_jobs {op} only reads")
    if op not in JOB_LAUNCHES and not op.startswith("scheduled"):
        return PolicyDecision(True, f"unknown hf_jobs operation {op!r}", auto_allowed=False)
    if op.startswith("scheduled"):
        note = f"; {TOKEN_NOTE}" if op in JOB_LAUNCHES else ""
        return PolicyDecision(True, f"scheduled job operation {op!r}{note}", auto_allowed=False, spends=True)
    if spec.runtime == "local":
        return _local_code("runs code as a local job", config)
    flavor = spec.hardware_flavor
    if not flavor:
        return _token_bearing(f"no hardware flavour given; {TOKEN_NOTE}", config)
    if _is_cpu(flavor) and not config.confirm_cpu_jobs and config.hf_token_jobs:
        return PolicyDecision(False, f"CPU job on {flavor} (confirm_cpu_jobs is off); {TOKEN_NOTE}", spends=True)
    return _token_bearing(f"runs a job on HF compute ({flavor}); {TOKEN_NOTE}", config)


def _token_bearing(reason: str, config: PolicyConfig) -> PolicyDecision:
    """HF jobs and sandbox Spaces run code the model wrote with the person's HF token: policy approves them only
    after the person's opt-in for the session; before it, a person decides (in `auto` too)."""
    if config.hf_token_jobs:
        return PolicyDecision(True, reason, spends=True)
    return PolicyDecision(True, f"{reason}; {OPT_IN_HINT}", spends=True, auto_allowed=False, person_in_auto=True)


def _cancel(spec: ActionSpec, config: PolicyConfig) -> PolicyDecision:
    """Cancelling stops a job and its bill: free for this session's own jobs, a person's decision for any other
    (it may be the person's unrelated training run, or a colleague's in a shared org)."""
    job = spec.target
    if job and job in config.session_jobs:
        return PolicyDecision(False, f"cancels job {job}, which this session launched")
    return PolicyDecision(True, f"cancels job {job or '(no job_id given)'}, which this session did not launch",
                          auto_allowed=False, person_in_auto=True)


def _hub_write(spec: ActionSpec, reason: str) -> PolicyDecision:
    """A write to the Hub. Into a public repo (or one whose visibility could not be checked) never by policy, and
    the card says PUBLIC: a write there publishes whatever it carries, a copied token file included."""
    auto = not _never_auto(spec)
    if _makes_public(spec):
        return PolicyDecision(True, f"{reason}: makes the repo PUBLIC", auto_allowed=False)
    if spec.operation != "create_repo" and spec.visibility != "private":
        where = ("a PUBLIC repo: anyone can see this change" if spec.visibility == "public" else
                 "a repo whose visibility could not be checked, so it is treated as PUBLIC")
        return PolicyDecision(True, f"{reason} in {where}", auto_allowed=False, person_in_auto=auto)
    return PolicyDecision(True, reason, auto_allowed=auto)


def _local_code(reason: str, config: PolicyConfig) -> PolicyDecision:
    """Local code under `auto` runs only inside the OS sandbox; without one, a person decides and is told why."""
    if config.no_local_sandbox:
        return PolicyDecision(True, f"{reason}; auto mode runs local code only inside the OS sandbox, and none can "
                              f"run here ({config.no_local_sandbox}), so a person decides", auto_allowed=False,
                              person_in_auto=True)
    return PolicyDecision(True, reason)
