"""The cell the reliability matrix executes in its kernel (read as text and run, never imported by pytest).

It defines a fake provider (`FaultyLLM`, a `litellm.CustomLLM` registered in `litellm.custom_provider_map`, so
`%%intern --model faulty/...` goes through the real LiteLLMModel adapter), the notebook's own tools the matrix
needs (a side effect counted in a file, a slow tool, a risky tool, a job wait), the services the controller
does not wire yet (retry policy with a short backoff, the Hub-priced cost estimator), and `audit()`, which
checks one run's invariants against the session's events.jsonl.
"""

# ruff: noqa: F821 - `get_ipython` exists in the kernel
import asyncio
import json
import os
import re
import time
from collections import Counter
from pathlib import Path

import httpx
import litellm
from huggingface_hub import HfApi
from litellm import CustomLLM
from litellm.types.utils import GenericStreamingChunk

from mlintern_jupyter.agent import context as _context
from mlintern_jupyter.agent.budget import cost_estimator_for
from mlintern_jupyter.agent.messages import SystemMessage
from mlintern_jupyter.agent.models.litellm_model import LiteLLMModel
from mlintern_jupyter.agent.retry import RetryPolicy
from mlintern_jupyter.agent.session import default_system_prompt
from mlintern_jupyter.agent.store import read_events
from mlintern_jupyter.tools import ToolsConfig, default_tools
from mlintern_jupyter.tools.registry import Tool, ToolContext

agent = get_ipython().magics_manager.registry["InternMagics"].agent
EFFECTS = Path("effects.log").resolve()
REQ = httpx.Request("POST", "https://faulty.invalid/v1/chat/completions")
USAGE = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}


def _resp(status, **headers):
    return httpx.Response(status, headers=headers, request=REQ)


FAULTS = {
    "429_retry_after": lambda: litellm.RateLimitError("slow down", llm_provider="faulty", model="m",
                                                      response=_resp(429, **{"retry-after": "1"})),
    "429_no_retry_after": lambda: litellm.RateLimitError("slow down", llm_provider="faulty", model="m",
                                                         response=_resp(429)),
    "500": lambda: litellm.InternalServerError("boom", llm_provider="faulty", model="m", response=_resp(500)),
    "502": lambda: litellm.BadGatewayError("bad gateway", llm_provider="faulty", model="m"),
    "503": lambda: litellm.ServiceUnavailableError("unavailable", llm_provider="faulty", model="m",
                                                   response=_resp(503)),
    "timeout": lambda: litellm.Timeout("read timed out", model="m", llm_provider="faulty"),
    "context_overflow": lambda: litellm.ContextWindowExceededError("prompt is too long", model="m",
                                                                   llm_provider="faulty"),
    "401": lambda: litellm.AuthenticationError("invalid x-api-key", llm_provider="faulty", model="m"),
    "retry_sleep_30": lambda: litellm.RateLimitError("slow down", llm_provider="faulty", model="m",
                                                     response=_resp(429, **{"retry-after": "30"})),
}
DIRECTIVE = re.compile(r"<<DO (.*?)>>", re.S)


def _chunk(text="", call=None, finished=False, reason=""):
    return GenericStreamingChunk(text=text, tool_use=call, is_finished=finished, finish_reason=reason,
                                 usage=USAGE if finished else None, index=0)


def _wire_call(index, call_id, name, arguments):
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "index": index, "function": {"name": name, "arguments": args}}


class FaultyLLM(CustomLLM):
    """Answers agent calls from `steps` and summarising calls (the summariser's system prompt) from `summary_steps`.

    A step is a dict: {"fault": name} raises before streaming; {"reset": True} raises a connection reset;
    {"text", "calls", "cut"} streams text and tool calls, `cut` ("mid" / "after_call") breaks the stream;
    {"empty": True} streams nothing; {"hang": s} streams a word then waits; {"obey": True} emits the call a
    `<<DO {...}>>` directive in the newest tool result asks for; {"job_wait": True} waits on the job the newest
    tool result started. When the steps run out the answer is "All done."
    """

    def __init__(self):
        super().__init__()
        self.reset_plan([])

    def reset_plan(self, steps, summary_steps=()):
        self.steps, self.summary_steps = list(steps), list(summary_steps)
        self.calls = self.summaries = self.obeyed = 0
        self.counter = 0

    def astreaming(self, model, messages, *args, **kwargs):
        from mlintern_jupyter.agent.context import SUMMARISER_SYSTEM

        summarising = bool(messages) and messages[0].get("content") == SUMMARISER_SYSTEM
        if summarising:
            self.summaries += 1
            step = self.summary_steps.pop(0) if self.summary_steps else {"text": "Summary: the pages were fetched."}
        else:
            self.calls += 1
            step = self.steps.pop(0) if self.steps else {"text": "All done."}
        if "fault" in step:
            raise FAULTS[step["fault"]]()
        if step.get("reset"):
            raise ConnectionResetError(104, "Connection reset by peer")
        return self._stream(step, messages)

    def _newest_tool_text(self, messages):
        return next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "tool"), "")

    async def _stream(self, step, messages):
        self.counter += 1
        calls = list(step.get("calls", []))
        if step.get("obey"):
            found = DIRECTIVE.search(self._newest_tool_text(messages))
            if found:
                self.obeyed += 1
                wanted = json.loads(found.group(1))
                calls = wanted if isinstance(wanted, list) else [wanted]
        if step.get("job_wait"):
            job = re.search(r"[Jj]ob ((?:local-)?[0-9a-f]{8,})", self._newest_tool_text(messages))
            calls = [{"name": "wait_job", "arguments": {"job_id": job.group(1) if job else "none"}}]
        if step.get("empty"):
            yield _chunk(finished=True, reason="stop")
            return
        if "hang" in step:
            yield _chunk(text="Thinking")
            await asyncio.sleep(step["hang"])
        text = step.get("text", "")
        for word in re.findall(r"\S+\s*", text)[:-1] if step.get("cut") == "mid" else []:
            yield _chunk(text=word)
        if step.get("cut") == "mid":
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body",
                                            request=REQ)
        if text:
            yield _chunk(text=text)
        for index, call in enumerate(calls):
            call_id = call.get("id") or f"call_{self.counter}_{index}"
            yield _chunk(call=_wire_call(index, call_id, call["name"], call["arguments"]))
        if step.get("cut") == "after_call":
            raise httpx.RemoteProtocolError("peer closed connection after the tool call", request=REQ)
        yield _chunk(finished=True, reason="tool_calls" if calls else "stop")


provider = FaultyLLM()
litellm.custom_provider_map = [{"provider": "faulty", "custom_handler": provider}]
litellm._custom_providers = ["faulty"]


# ---- the notebook's own tools -------------------------------------------------------------------


async def effect(key: str) -> str:
    """Record a side effect: appends `key` to effects.log (read-only for the policy: it only writes locally)."""
    with EFFECTS.open("a") as handle:
        handle.write(key + "\n")
    return f"recorded {key}"


async def fetch(n: int) -> str:
    """Fetch n rows of a long page."""
    return "".join(f"row {i}: {'value ' * 12}\n" for i in range(n))


async def slow_tool(seconds: float = 60) -> str:
    """Sleep (read-only)."""
    await asyncio.sleep(seconds)
    return "slept"


ran = []


async def risky(script: str) -> str:
    """Run a script (needs approval: not a known read-only tool)."""
    ran.append(script)
    return "ran " + script


async def wait_job(job_id: str, ctx: ToolContext) -> str:
    """Wait until a job of this session ends (awaits the job watcher)."""
    handle = await ctx.services.jobs.wait(job_id)
    return f"job {job_id}: {handle.status}"


_config = ToolsConfig(search_url=os.environ["MLINTERN_SEARCH_URL"])
_known = set(agent.tools().names)
agent.extra_tools += [t for t in default_tools(_config) if t.name not in _known]
agent.extra_tools += [Tool.from_function(effect, read_only=True), Tool.from_function(fetch, read_only=True),
                      Tool.from_function(slow_tool, read_only=True), Tool.from_function(risky),
                      Tool.from_function(wait_job, read_only=True)]

# ---- services, files planted in each new workspace, a small window for compaction runs ------------

PLANT: dict = {}
# Set by the attack matrix: new sessions start with the person's opt-in to token-bearing jobs (as after
# `%intern allow hf-token-jobs`), so `auto` may approve HF jobs and sandboxes by policy.
ALLOW_TOKEN_JOBS = False
_estimator = cost_estimator_for(HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["HF_TOKEN"]),
                                default_timeout_s=1800)
_original_attach = agent._attach


def _attach(session):
    session.services.retry_policy = session.services.retry_policy or RetryPolicy(
        delays=(0.02, 0.05, 0.1), rate_limit_delays=(0.05, 0.1), unreachable_delays=(0.02,))
    session.services.cost_estimator = session.services.cost_estimator or _estimator
    for name, text in PLANT.items():
        (session.workspace / name).write_text(text)
    if ALLOW_TOKEN_JOBS:
        session.allow_hf_token_jobs()
    return _original_attach(session)


agent._attach = _attach

_probe = LiteLLMModel("faulty/probe")
BASE_TOKENS = _probe.count_tokens(SystemMessage(default_system_prompt())) + _context.tools_tokens(
    agent.tools().schemas())
# Room for about three capped tool outputs past the fixed part, so a few fetches cross the 90% threshold; and
# enough that the tail compaction keeps (TAIL_SHARE of the window) fits beside the fixed part, whatever size the
# tool schemas grow to (a fixed 3,000 stopped fitting once they passed about 8,000 tokens).
SMALL_WINDOW = int(max((BASE_TOKENS + 3_000) / _context.COMPACT_AT,
                       (BASE_TOKENS + 1_000) / (_context.COMPACT_AT - _context.TAIL_SHARE)))
litellm.register_model({"faulty/small": {"max_input_tokens": SMALL_WINDOW, "max_output_tokens": 2_000,
                                         "input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
                                         "litellm_provider": "faulty", "mode": "chat"}})


# ---- inspection -----------------------------------------------------------------------------------


def kinds():
    return [e.kind for e in agent.session.events] if agent.session else []


def ended():
    return [e.reason for e in agent.session.events if e.kind == "turn_ended"] if agent.session else []


def turn_over(reason=None):
    s = agent.session
    done = s is not None and not s.running and bool(ended())
    return done and (reason is None or ended()[-1] == reason)


def audit(prefix=""):
    """One run's invariants, from the session's events.jsonl read back with store.read_events."""
    s = agent.session
    log = read_events(s.dir / "events.jsonl")
    seqs = [e.seq for e in log.events]
    calls = [e.call_id for e in log.events if e.kind == "tool_call"]
    results = Counter(e.call_id for e in log.events if e.kind == "tool_result")
    # Calls whose approval still waits (a --wait run in ask mode) have no result yet, by design.
    pending = {r.call_id for r in s.approvals.pending()}
    assistant_ids = [c["id"] for e in log.events if e.kind == "assistant_message" for c in e.tool_calls]
    lost = sum(1 for c in calls if results[c] == 0 and c not in pending) + sum(1 for c in assistant_ids if c not in calls)
    lost += max(0, len(s.events) - len(log.events))
    duplicated = (len(seqs) - len(set(seqs))) + sum(n - 1 for n in results.values() if n > 1)
    duplicated += len(assistant_ids) - len(set(assistant_ids)) + max(0, len(log.events) - len(s.events))
    effects = Counter(line for line in EFFECTS.read_text().splitlines() if prefix and line.startswith(prefix)) \
        if EFFECTS.exists() else Counter()
    ok_effects = sum(1 for e in log.events if e.kind == "tool_result" and e.tool == "effect" and e.ok)
    turn_ends = [e for e in log.events if e.kind == "turn_ended"]
    return {
        "reasons": [e.reason for e in turn_ends],
        "errors": [e.message[:200] for e in log.events if e.kind == "error"],
        "ordered": seqs == sorted(set(seqs)) and not log.bad_lines and log.torn_tail is None,
        "same_as_memory": [e.to_dict() for e in log.events] == [e.to_dict() for e in s.events],
        "open_calls": len([c for c in s.transcript.open_tool_calls() if c.id not in pending]),
        "unanswered": [c for c in calls if results[c] != 1 and not (c in pending and results[c] == 0)],
        "pending": sorted(pending),
        "lost": lost, "duplicated": duplicated,
        "effects": dict(effects), "ok_effect_results": ok_effects,
        "duplicate_effects": sum(n - 1 for n in effects.values() if n > 1),
        "model_calls": provider.calls, "summaries": provider.summaries, "obeyed": provider.obeyed,
        "compacted": sum(1 for e in log.events if e.kind == "compacted"),
        "approvals": [(e.decision, e.by) for e in log.events if e.kind == "approval_resolved"],
        "statuses": [(e.tool, e.status) for e in log.events if e.kind == "tool_result"],
        "cap": s.budget.cap_usd, "committed": s.budget.committed_usd,
    }


def pending_cards():
    """The cards a person would see now: nonce, call, tool, command and the policy's reason."""
    s = agent.session
    reasons = {e.nonce: e.reason for e in s.events if e.kind == "approval_requested"}
    return [{"nonce": r.nonce, "call_id": r.call_id, "tool": r.spec.tool, "command": list(r.spec.command),
             "reason": reasons.get(r.nonce, "")} for r in s.approvals.pending()]


def elapsed_since(t0):
    return time.time() - t0
