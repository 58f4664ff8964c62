"""Benchmark for providers (issue 14), against the loopback wire fakes with litellm's real transformations.

1. A 30-step session on each route (Anthropic with and without thinking, OpenAI, a gpt-5-style reasoning model, the
   HF router, a local OpenAI-compatible server): parallel tool calls every step, every built-in tool exposed plus
   an MCP tool with a long name and description, a rate limit and an overload injected on the way. Reported:
   requests the fake refused (goal 0), sessions ended by an error (goal 0), cache-read share of prompt tokens, and
   how the recorded usage and cost agree with what the fake reported (cost recomputed from the fake's own usage).
2. First `%%intern` without the wait: in a fresh kernel, time from sending the cell to the first model request, with
   `%load_ext` run 6 s earlier, against the same (also 6 s after `%load_ext`) with litellm imported before
   (goal: ratio at most 1.2), and with `%load_ext` run just before (what the background import cannot hide).

Run: python tests/bench_providers.py   (prints figures and a last JSON line; not part of the test run)
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

from mlintern_jupyter.agent import events as ev  # noqa: E402
from mlintern_jupyter.agent.models import resolve_model  # noqa: E402
from mlintern_jupyter.agent.retry import RetryPolicy  # noqa: E402
from mlintern_jupyter.agent.session import Session, SessionConfig  # noqa: E402
from mlintern_jupyter.tools import ToolsConfig, default_tools  # noqa: E402
from mlintern_jupyter.tools.registry import Tool  # noqa: E402
from tests.fakes._server import HTTPError  # noqa: E402
from tests.fakes.anthropic import FakeAnthropic  # noqa: E402
from tests.fakes.llm_common import Reply  # noqa: E402
from tests.fakes.openai_chat import FakeOpenAIChat  # noqa: E402
from tests.helpers import is_summary_request  # noqa: E402

STEPS = 30
ROUTES: dict[str, tuple[str, str | None]] = {
    "anthropic": ("anthropic/claude-sonnet-4-5", None),
    "anthropic_thinking": ("anthropic/claude-sonnet-4-5", "high"),
    "openai": ("openai/gpt-4o", "high"),
    "openai_reasoning": ("openai/gpt-5", "high"),
    "hf_router": ("moonshotai/Kimi-K2.6:novita", "max"),
    "local": ("vllm/Qwen/Qwen2.5-7B-Instruct", "high"),
}
MCP_SERVER = "hf-mcp-server.example"


def mcp_tool() -> Tool:
    from pydantic import create_model

    async def search(query: str) -> str:
        return f"3 models match {query!r}"

    return Tool(name=f"{MCP_SERVER}__search_models_datasets_and_spaces_on_the_hugging_face_hub",
                description="Search the Hub for models, datasets and Spaces. " * 40,
                parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
                function=search, args_model=create_model("search_args", query=(str, ...)), access="read")


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] if "function" in t else t["name"] for t in body.get("tools") or []]


def steps_done(body: dict[str, Any]) -> int:
    """Assistant turns with tool calls so far (OpenAI or Anthropic shape)."""
    count = 0
    for m in body["messages"]:
        if m.get("role") != "assistant":
            continue
        content = m.get("content")
        if m.get("tool_calls") or (isinstance(content, list) and any(b.get("type") == "tool_use" for b in content)):
            count += 1
    return count


def responder(fake: Any, faults: dict[int, int]) -> Any:
    """The scripted agent: 30 steps of parallel calls (write, read, an MCP search, the plan every 5 steps)."""

    def respond(body: dict[str, Any]) -> Reply:
        if is_summary_request(body):
            return Reply(text="SUMMARY: notes written for each step; continue from the last step.")
        step = steps_done(body)
        if step in faults and faults[step] > 0:  # a transient fault, once, at this step
            status = faults[step]
            faults[step] = 0
            raise HTTPError(status, response=fake.error_response(status))
        if step >= STEPS:
            return Reply(text="All 30 steps are done; the notes are in notes/.")
        mcp = next(n for n in tool_names(body) if n.startswith("hf-mcp-server_example"))
        calls: list[tuple[str, Any]] = [("write", {"path": f"notes/step{step}.md",
                                                   "content": f"# Step {step}\n" + "observation " * 60}),
                                        (mcp, {"query": f"topic {step}"})]
        if step:
            calls.append(("read", {"path": f"notes/step{step - 1}.md"}))
        if step % 5 == 0:
            calls.append(("plan_tool", {"todos": [{"id": "1", "content": "write the notes",
                                                   "status": "in_progress"}]}))
        return Reply(text=f"Step {step}.", tool_calls=calls)

    return respond


def fast_policy(waited: list[float]) -> RetryPolicy:
    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        await asyncio.sleep(0)

    return RetryPolicy(sleep=sleep, rng=random.Random(0))


def fake_cost(model: str, log: list[dict[str, int]], anthropic: bool) -> float | None:
    """Cost recomputed with litellm's price map from what the fake itself reported."""
    import litellm

    total = 0.0
    for u in log:
        if anthropic:
            prompt = u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"]
            read, write, completion = u["cache_read_input_tokens"], u["cache_creation_input_tokens"], u["output_tokens"]
        else:
            prompt, read, write, completion = u["prompt_tokens"], u["cached_tokens"], 0, u["completion_tokens"]
        try:
            a, b = litellm.cost_per_token(model=model, prompt_tokens=prompt, completion_tokens=completion,
                                          cache_read_input_tokens=read, cache_creation_input_tokens=write)
        except Exception:  # noqa: BLE001 - not priced
            return None
        total += a + b
    return total


def run_route(route: str, home: Path) -> dict[str, Any]:
    name, effort = ROUTES[route]
    anthropic = name.startswith("anthropic/")
    if anthropic:
        fake: Any = FakeAnthropic()
    elif route == "hf_router":
        fake = FakeOpenAIChat(flavour="router", reasoning_models=("moonshotai/Kimi",))
    elif route == "local":
        fake = FakeOpenAIChat(flavour="local")
    else:
        fake = FakeOpenAIChat(flavour="openai")
    faults = {10: 429, 20: 529 if anthropic else 503}
    with fake:
        if anthropic:
            env = {"ANTHROPIC_API_KEY": fake.api_key, "ANTHROPIC_BASE_URL": fake.url}
        elif route == "hf_router":
            env = {"HF_TOKEN": fake.api_key or "", "MLINTERN_HF_ROUTER_URL": fake.base_url}
        elif route == "local":
            env = {}
        else:
            env = {"OPENAI_API_KEY": fake.api_key or "", "OPENAI_BASE_URL": fake.base_url}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            fake.responder = responder(fake, faults)
            api_base = fake.url if route == "local" else None
            registry = default_tools(ToolsConfig(hf_token=""))
            registry.register(mcp_tool())
            config = SessionConfig(model=name, approve_mode="auto", reasoning_effort=effort, api_base=api_base)
            session = Session(config, registry, model=resolve_model(name, api_base), home=home)
            session.config.policy.read_only_mcp_servers.add(MCP_SERVER)
            waited: list[float] = []
            session.services.retry_policy = fast_policy(waited)
            started = time.monotonic()
            end = asyncio.run(session.run_turn("Write a note for each of 30 steps, searching the Hub for each."))
            took = time.monotonic() - started
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    usage = [e for e in session.events if isinstance(e, ev.Usage)]
    prompt = sum(u.prompt_tokens for u in usage)
    read = sum(u.cache_read_tokens for u in usage)
    if anthropic:
        fake_prompt = sum(u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"]
                          for u in fake.usage_log)
        fake_read = sum(u["cache_read_input_tokens"] for u in fake.usage_log)
    else:
        fake_prompt = sum(u["prompt_tokens"] for u in fake.usage_log)
        fake_read = sum(u["cached_tokens"] for u in fake.usage_log)
    costs = [u.cost_usd for u in usage]
    ours_cost = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
    anchor_cost = None if ours_cost is None or route == "local" else fake_cost(session.model.route.model,
                                                                               fake.usage_log, anthropic)
    steps = sum(1 for e in session.events if isinstance(e, ev.AssistantMessage) and e.tool_calls)
    return {
        "model": name, "effort": effort, "steps": steps, "requests": len(fake.requests),
        "refused": len(fake.refusals), "refusals": fake.refusals.messages()[:3],
        "ended_by_error": int(end.reason == "error" or session.ended is not None), "end": end.reason,
        "faults_injected": 2, "retry_wait_s": round(sum(waited), 1),
        "cache_read_share": round(read / prompt, 3) if prompt else 0.0,
        "fake_cache_read_share": round(fake_read / fake_prompt, 3) if fake_prompt else 0.0,
        "prompt_tokens": prompt, "fake_prompt_tokens": fake_prompt,
        "usage_agreement": round(prompt / fake_prompt, 4) if fake_prompt else None,
        "cost_usd": None if ours_cost is None else round(ours_cost, 6),
        "cost_unknown_calls": sum(1 for c in costs if c is None),
        "fake_cost_usd": None if anchor_cost is None else round(anchor_cost, 6),
        "cost_agreement": round(ours_cost / anchor_cost, 4) if ours_cost and anchor_cost else None,
        "effort_fallbacks": [(e.requested, e.effective) for e in session.events if isinstance(e, ev.EffortFallback)],
        "seconds": round(took, 1),
    }


# --- first request after %load_ext ---------------------------------------------------------------------------

def first_request_s(setup: str, wait_s: float, home: Path) -> float:
    """Seconds from sending the first %%intern cell to the fake receiving the model request, in a fresh kernel."""
    from jupyter_client import KernelManager

    with FakeOpenAIChat(flavour="openai") as fake:
        env = {**os.environ, "OPENAI_API_KEY": fake.api_key or "", "OPENAI_BASE_URL": fake.base_url,
               "MLINTERN_HOME": str(home), "IPYTHONDIR": tempfile.mkdtemp(prefix="bench_ipython_"),
               "PYTHONPATH": str(ROOT)}
        km = KernelManager(kernel_name="python3")
        km.start_kernel(env=env)
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
            if setup:
                kc.execute_interactive(setup, timeout=120)
            kc.execute_interactive("%load_ext mlintern_jupyter", timeout=60)
            time.sleep(wait_s)
            sent = time.time()
            kc.execute_interactive("%%intern --model openai/gpt-4o --wait\nsay hello", timeout=120)
            if not fake.requests:
                raise RuntimeError("the cell made no model request")
            return fake.requests[0].time - sent
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def first_request(home: Path, rounds: int = 2) -> dict[str, Any]:
    # Both main cases wait the same 6 s after %load_ext; they differ only in whether litellm was imported first.
    cases = {"litellm_already_imported": ("import litellm", 6.0), "load_ext_6s_earlier": ("", 6.0),
             "load_ext_just_before": ("", 0.0)}
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):  # interleaved, so all cases see the same machine noise
        for key, (setup, wait) in cases.items():
            samples[key].append(first_request_s(setup, wait, home))
    best = {k: round(min(v), 3) for k, v in samples.items()}
    return {**{f"{k}_s": v for k, v in best.items()}, "rounds": rounds,
            "ratio_6s_vs_imported": round(best["load_ext_6s_earlier"] / best["litellm_already_imported"], 2)}


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="bench_providers_"))
    os.environ["MLINTERN_HOME"] = str(home)
    routes = {}
    for route in ROUTES:
        figures = run_route(route, home)
        routes[route] = figures
        print(f"{route}: {json.dumps(figures)}", flush=True)
    first = first_request(home)
    print(f"first request: {json.dumps(first)}", flush=True)
    print(json.dumps({"bench": "providers", "routes": routes, "first_request": first}))


if __name__ == "__main__":
    main()
