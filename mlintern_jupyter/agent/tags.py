"""Session tags: a pure function of the event log, for slicing traces and SFT data without re-reading them.

Every tag is ``namespace:value``. The namespaces follow ml-intern's tagger (``agent/sft/tagger.py``) so datasets
from both can be sliced alike, computed from our typed events instead of its free-form ones:

* ``tool:<name>``      every tool the model called
* ``outcome:<end>``    how the last turn ended (done, max_iterations, budget, awaiting_approval, cancelled, error,
                       or ongoing when none ended); ``outcome:success`` when it ended done and no job failed;
                       ``outcome:doom_loop`` / ``outcome:compacted`` when those happened
* ``hf_job:<facet>``   submitted, multi, succeeded, failed, cancelled, timeout, oom, push_to_hub, local, hub
* ``gpu:<family>``     none, t4, l4, l40s, a10g, a100, h100, h200, rtx_pro, other; ``gpu:multi`` for xN flavours
* ``sandbox:<facet>``  created, gpu, cpu, used (a GPU Space sandbox); ``sandbox:none`` otherwise
* ``feedback:<kind>``  approved, denied, mixed or none (a person's answers), edited, comment, policy
* ``model:<family>``   opus, sonnet, haiku, claude, gpt, kimi, deepseek, qwen, llama, gemini, mistral, demo,
                       scripted, other
* ``turns:<bucket>``   short (<5 prompts), medium (5-20), long (>20)
* ``cost:<bucket>``    low (<$0.10), med (<$1), high; ``cost:unpriced`` when some model calls or jobs had no price
* ``task:<kind>``      training, evaluation, inference, data, research, debugging, other (first prompt, by rules)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import events as ev
from .messages import arguments_object

# Tag namespaces, in the order a card lists them.
NAMESPACES = ("outcome", "task", "model", "tool", "hf_job", "gpu", "sandbox", "feedback", "turns", "cost")
# Outcomes from worst to best: `--min-outcome X` keeps sessions whose outcome ranks at X or above.
OUTCOME_RANK = {"ongoing": 0, "error": 0, "cancelled": 1, "awaiting_approval": 2, "max_iterations": 2,
                "budget": 2, "done": 3, "success": 4}
# GPU families by the start of a Hub flavour name (huggingface_hub's JobHardware / SpaceHardware).
_GPU_PREFIXES = (("t4", "t4"), ("l4", "l4"), ("l40s", "l40s"), ("a10g", "a10g"), ("a100", "a100"),
                 ("h100", "h100"), ("h200", "h200"), ("rtx-pro", "rtx_pro"), ("zero", "other"))
_MULTI = re.compile(r"x[2-9]\b|x\d{2}\b")
_OOM = re.compile(r"out ?of ?memory|cuda oom|\boom\b|outofmemoryerror", re.IGNORECASE)
_MODEL_FAMILIES = ("opus", "sonnet", "haiku", "claude", "gpt", "kimi", "deepseek", "qwen", "llama", "gemini",
                   "mistral")
# First prompt -> task, first rule that matches (word starts, lower case).
_TASK_RULES = (
    ("training", r"fine-?tun|\btrain|\bsft\b|\bdpo\b|\bgrpo\b|\blora\b|\bpretrain|distill"),
    ("evaluation", r"\beval|benchmark|\bscore\b|\baccuracy of\b|leaderboard"),
    ("inference", r"\binferen|\bgenerat|\bpredict|\bserve\b|\bdeploy|\bendpoint"),
    ("data", r"\bdataset|\bclean|preprocess|\btokeni[sz]|\blabel|\bscrape|\bconvert"),
    ("debugging", r"\bdebug|\bfix\b|\berror\b|traceback|\bcrash|\boom\b"),
    ("research", r"\bpaper|literature|\bsurvey|\bcompare|\bresearch|state of the art|\bsota\b|\bfind\b"),
)


def gpu_family(flavor: str) -> str:
    name = flavor.strip().lower()
    if not name or name.startswith("cpu"):
        return "none"
    for prefix, family in sorted(_GPU_PREFIXES, key=lambda p: -len(p[0])):
        if name.startswith(prefix):
            return family
    return "other"


def model_family(model: str) -> str:
    name = model.lower()
    if name == "demo":
        return "demo"
    if name.startswith("scripted"):
        return "scripted"
    return next((family for family in _MODEL_FAMILIES if family in name), "other")


def task_kind(prompt: str) -> str:
    text = prompt.lower()
    return next((kind for kind, rule in _TASK_RULES if re.search(rule, text)), "other")


def _bucket(value: float, edges: tuple[tuple[float, str], ...], last: str) -> str:
    return next((name for edge, name in edges if value < edge), last)


@dataclass
class _Facts:
    """What the tags are computed from, gathered in one pass over the log."""

    tools: set[str] = field(default_factory=set)
    first_prompt: str | None = None
    prompts: int = 0
    model: str = ""
    last_end: str | None = None
    cost: float = 0.0
    unpriced: bool = False
    jobs: dict[str, ev.JobUpdated] = field(default_factory=dict)
    job_flavors: list[str] = field(default_factory=list)
    job_launches: int = 0
    push_to_hub: bool = False
    oom: bool = False
    sandbox_flavor: str | None = None
    sandbox_used: bool = False
    person: dict[str, int] = field(default_factory=dict)
    edited: bool = False
    comment: bool = False
    policy: bool = False
    doom_loop: bool = False
    compacted: bool = False

    def call(self, event: ev.ToolCall) -> None:
        self.tools.add(event.tool)
        args = arguments_object(event.arguments, keep_raw=False)
        if event.tool == "hf_jobs" and str(args.get("operation", "")).lower() in ("run", "uv", "scheduled run",
                                                                                  "scheduled uv"):
            self.job_launches += 1
            self.job_flavors.append(str(args.get("hardware_flavor") or "cpu-basic"))
            code = f"{args.get('script') or ''} {args.get('command') or ''}"
            self.push_to_hub = self.push_to_hub or "push_to_hub" in code
        elif event.tool == "sandbox_create":
            self.sandbox_flavor = str(args.get("hardware") or args.get("hardware_flavor") or "cpu-basic")
        elif args.get("sandbox") is True:
            self.sandbox_used = True


def _gather(events: Iterable[ev.Event]) -> _Facts:
    facts = _Facts()
    for event in events:
        match event:
            case ev.SessionStarted(model=model) | ev.ModelChanged(model=model):
                facts.model = model or facts.model
            case ev.UserPrompt(text=text):
                facts.prompts += 1
                facts.first_prompt = text if facts.first_prompt is None else facts.first_prompt
            case ev.ToolCall():
                facts.call(event)
            case ev.ToolOutput(text=text) | ev.ToolResult(content=text) if not facts.oom:
                facts.oom = bool(_OOM.search(text)) and (event.kind == "tool_output" or event.tool == "hf_jobs")
            case ev.Usage(cost_usd=cost):
                facts.unpriced = facts.unpriced or cost is None
                facts.cost += cost or 0.0
            case ev.JobUpdated(job_id=job_id):
                facts.jobs[job_id] = event
            case ev.ApprovalResolved(by="policy"):
                facts.policy = True
            case ev.ApprovalResolved(decision=("approved" | "denied") as decision, by="person"):
                facts.person[decision] = facts.person.get(decision, 0) + 1
                facts.edited = facts.edited or event.edited_script is not None
                facts.comment = facts.comment or bool(event.feedback.strip())
            case ev.GuardFired(guard=guard):
                facts.doom_loop = facts.doom_loop or "doom" in guard
            case ev.Compacted():
                facts.compacted = True
            case ev.TurnEnded(reason=reason):
                facts.last_end = reason
    return facts


def session_tags(events: Iterable[ev.Event]) -> list[str]:
    """The sorted, de-duplicated tags of a session's events. Pure: the same log always gives the same tags."""
    facts = _gather(events)
    tags = {f"tool:{name}" for name in facts.tools}
    statuses = [job.status.upper() for job in facts.jobs.values()]
    failed = any(s in ("ERROR", "CANCELED", "CANCELLED", "TIMEOUT", "DELETED") for s in statuses)
    outcome = facts.last_end or "ongoing"
    tags.add(f"outcome:{outcome}")
    if outcome == "done" and not failed:
        tags.add("outcome:success")
    if facts.doom_loop:
        tags.add("outcome:doom_loop")
    if facts.compacted:
        tags.add("outcome:compacted")
    tags |= _job_tags(facts, statuses)
    families = {gpu_family(f) for f in facts.job_flavors}
    tags |= {f"gpu:{family}" for family in (families - {"none"} or families or {"none"})}
    if any(_MULTI.search(f.lower()) for f in facts.job_flavors):
        tags.add("gpu:multi")
    if facts.sandbox_flavor is not None:
        tags |= {"sandbox:created", "sandbox:cpu" if gpu_family(facts.sandbox_flavor) == "none" else "sandbox:gpu"}
    if facts.sandbox_used:
        tags.add("sandbox:used")
    if not any(t.startswith("sandbox:") for t in tags):
        tags.add("sandbox:none")
    approved, denied = facts.person.get("approved", 0), facts.person.get("denied", 0)
    tags.add("feedback:" + ("mixed" if approved and denied else "approved" if approved else
                            "denied" if denied else "none"))
    tags |= {f"feedback:{name}" for name, on in (("edited", facts.edited), ("comment", facts.comment),
                                                 ("policy", facts.policy)) if on}
    tags.add(f"model:{model_family(facts.model)}")
    tags.add("turns:" + _bucket(facts.prompts, ((5, "short"), (21, "medium")), "long"))
    # A job whose price is unknown (cost_usd None) adds nothing to the bucket and marks the session unpriced.
    total = facts.cost + sum(job.cost_usd or 0.0 for job in facts.jobs.values())
    tags.add("cost:" + _bucket(total, ((0.10, "low"), (1.0, "med")), "high"))
    if facts.unpriced or any(job.cost_usd is None for job in facts.jobs.values()):
        tags.add("cost:unpriced")
    tags.add(f"task:{task_kind(facts.first_prompt or '')}")
    return sorted(tags)


def _job_tags(facts: _Facts, statuses: list[str]) -> set[str]:
    tags: set[str] = set()
    if facts.job_launches or facts.jobs:
        tags.add("hf_job:submitted")
    if max(facts.job_launches, len(facts.jobs)) > 1:
        tags.add("hf_job:multi")
    checks = (("succeeded", "COMPLETED"), ("failed", "ERROR"), ("timeout", "TIMEOUT"))
    tags |= {f"hf_job:{name}" for name, status in checks if status in statuses}
    if any(s in ("CANCELED", "CANCELLED") for s in statuses):
        tags.add("hf_job:cancelled")
    tags |= {f"hf_job:{'local' if job.runtime == 'local' else 'hub'}" for job in facts.jobs.values()}
    if facts.oom:
        tags.add("hf_job:oom")
    if facts.push_to_hub:
        tags.add("hf_job:push_to_hub")
    return tags


def outcome_rank(tags: Iterable[str]) -> int:
    """The best outcome among a session's tags, as a rank of OUTCOME_RANK."""
    ranks = [OUTCOME_RANK.get(t.split(":", 1)[1], 0) for t in tags if t.startswith("outcome:")]
    return max(ranks, default=0)


def person_denied(tags: Iterable[str]) -> bool:
    return bool({"feedback:denied", "feedback:mixed"} & set(tags))
