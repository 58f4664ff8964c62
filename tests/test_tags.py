"""Session tags: a pure function of the log, each namespace from the events that decide it."""

from __future__ import annotations

import asyncio
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.models.offline import ScriptedModel
from mlintern_jupyter.agent.redact import Redactor
from mlintern_jupyter.agent.tags import model_family, outcome_rank, session_tags, task_kind
from mlintern_jupyter.agent.trace import write_trace
from mlintern_jupyter.tools.registry import Tool

from .helpers import call, make_session


def log(*events: ev.Event, model: str = "anthropic/claude-sonnet-4-5") -> list[ev.Event]:
    return [ev.SessionStarted(model=model, session_id="s", seq=1), *events]


def job_call(flavor: str, script: str = "print(1)") -> ev.ToolCall:
    return ev.ToolCall(call_id=f"c-{flavor}", tool="hf_jobs", arguments={
        "operation": "uv", "script": script, "hardware_flavor": flavor})


def test_a_successful_training_session() -> None:
    tags = session_tags(log(
        ev.UserPrompt(text="Fine-tune distilbert on imdb and push it to my namespace"),
        ev.Usage(cost_usd=0.04),
        job_call("a10g-large", "trainer.train(); trainer.push_to_hub()"),
        ev.ApprovalResolved(call_id="c-a10g-large", decision="approved", by="person", nonce="n"),
        ev.JobUpdated(call_id="c-a10g-large", job_id="j1", status="COMPLETED", runtime="hf", cost_usd=0.5),
        ev.TurnEnded(reason="done"),
    ))
    assert {"outcome:done", "outcome:success", "task:training", "model:sonnet", "tool:hf_jobs", "gpu:a10g",
            "hf_job:submitted", "hf_job:succeeded", "hf_job:hub", "hf_job:push_to_hub", "feedback:approved",
            "turns:short", "cost:med", "sandbox:none"} <= set(tags)
    assert "gpu:multi" not in tags and "outcome:error" not in tags


def test_a_failed_job_is_done_but_not_success_and_oom_is_seen_in_the_job_output() -> None:
    tags = session_tags(log(
        ev.UserPrompt(text="train a llama"),
        job_call("a100x4"),
        ev.ToolOutput(call_id="c-a100x4", job_id="j", text="torch.OutOfMemoryError: CUDA out of memory"),
        ev.JobUpdated(call_id="c-a100x4", job_id="j", status="ERROR", runtime="hf"),
        ev.TurnEnded(reason="done"),
    ))
    assert {"outcome:done", "hf_job:failed", "hf_job:oom", "gpu:a100", "gpu:multi"} <= set(tags)
    assert "outcome:success" not in tags


def test_cpu_only_jobs_are_gpu_none_and_a_gpu_job_drops_it() -> None:
    assert "gpu:none" in session_tags(log(job_call("cpu-basic"), ev.TurnEnded(reason="done")))
    tags = session_tags(log(job_call("cpu-basic"), job_call("t4-small"), ev.TurnEnded(reason="done")))
    assert "gpu:t4" in tags and "gpu:none" not in tags and "hf_job:multi" in tags


def test_feedback_from_a_persons_answers_and_policy_decisions() -> None:
    approved = ev.ApprovalResolved(call_id="a", decision="approved", by="person", nonce="1",
                                   edited_script="x", edited_sha256="h")
    denied = ev.ApprovalResolved(call_id="b", decision="denied", by="person", nonce="2", feedback="too big")
    policy = ev.ApprovalResolved(call_id="c", decision="approved", by="policy", nonce="3")
    tags = session_tags(log(approved, denied, policy))
    assert {"feedback:mixed", "feedback:edited", "feedback:comment", "feedback:policy"} <= set(tags)
    assert "feedback:denied" in session_tags(log(denied))
    assert "feedback:none" in session_tags(log(policy))
    # An expired or superseded approval is nobody's answer.
    expired = ev.ApprovalResolved(call_id="d", decision="expired", by="person", nonce="4")
    assert "feedback:none" in session_tags(log(expired))


def test_outcome_ongoing_and_ranks() -> None:
    assert "outcome:ongoing" in session_tags(log(ev.UserPrompt(text="hi")))
    assert outcome_rank(["outcome:done", "outcome:success"]) > outcome_rank(["outcome:done"])
    assert outcome_rank(["outcome:budget"]) > outcome_rank(["outcome:cancelled"]) > outcome_rank(["outcome:error"])
    guard = ev.GuardFired(guard="doom_loop", message="you repeat yourself")
    compacted = ev.Compacted(summary="s")
    assert {"outcome:doom_loop", "outcome:compacted"} <= set(session_tags(log(guard, compacted)))


def test_sandbox_turns_and_cost_buckets() -> None:
    sandbox = ev.ToolCall(call_id="s", tool="sandbox_create", arguments={"hardware": "t4-small"})
    used = ev.ToolCall(call_id="b", tool="bash", arguments={"command": "nvidia-smi", "sandbox": True})
    prompts = [ev.UserPrompt(text=f"step {i}") for i in range(6)]
    tags = session_tags(log(sandbox, used, *prompts, ev.Usage(cost_usd=None), ev.Usage(cost_usd=2.0)))
    assert {"sandbox:created", "sandbox:gpu", "sandbox:used", "turns:medium", "cost:high", "cost:unpriced"} <= set(tags)
    assert "turns:long" in session_tags(log(*[ev.UserPrompt(text="x")] * 21))
    assert "cost:low" in session_tags(log())
    # A job of unknown price (cost_usd None) never counts as $0.00: the session is tagged unpriced.
    unknown = ev.JobUpdated(call_id="c", job_id="j", status="COMPLETED", runtime="hf", cost_usd=None)
    assert {"cost:low", "cost:unpriced"} <= set(session_tags(log(unknown)))
    assert "cost:unpriced" not in session_tags(log(ev.JobUpdated(call_id="c", job_id="j", status="COMPLETED")))


def test_model_and_task_rules() -> None:
    assert [model_family(m) for m in ("anthropic/claude-opus-4.8:fal-ai", "openai/gpt-5", "moonshotai/Kimi-K2.6",
                                      "Qwen/Qwen3-8B", "demo", "scripted:/tmp/x.json", "mystery")] == [
        "opus", "gpt", "kimi", "qwen", "demo", "scripted", "other"]
    assert task_kind("Evaluate my model on MMLU") == "evaluation"
    assert task_kind("clean this dataset and tokenize it") == "data"
    assert task_kind("find papers on speculative decoding") == "research"
    assert task_kind("why does my script crash with a traceback") == "debugging"
    assert task_kind("serve it behind an endpoint") == "inference"
    assert task_kind("hello") == "other"
    # The first prompt decides, not later ones.
    tags = session_tags(log(ev.UserPrompt(text="find a paper"), ev.UserPrompt(text="now train it")))
    assert "task:research" in tags and "task:training" not in tags


EVENTS = st.sampled_from([
    ev.UserPrompt(text="train x"), ev.Usage(cost_usd=0.3), ev.Usage(cost_usd=None), job_call("h100x8"),
    ev.JobUpdated(call_id="c", job_id="j", status="COMPLETED"), ev.JobUpdated(call_id="c", job_id="k", status="ERROR"),
    ev.ApprovalResolved(call_id="a", decision="denied", by="person", nonce="n"),
    ev.TurnEnded(reason="done"), ev.TurnEnded(reason="error"), ev.ToolCall(call_id="t", tool="read", arguments="{"),
])


@given(st.lists(EVENTS, max_size=30))
@settings(max_examples=60, deadline=None)
def test_tags_are_a_pure_function_sorted_unique_and_namespaced(events: list[ev.Event]) -> None:
    first, second = session_tags(log(*events)), session_tags(log(*events))
    assert first == second == sorted(set(first))
    assert all(":" in t for t in first)
    for namespace in ("outcome", "model", "turns", "cost", "task", "feedback", "sandbox"):
        assert any(t.startswith(namespace + ":") for t in first)


def test_tags_are_stored_beside_the_trace_of_a_real_session(tmp_path) -> None:
    async def risky(script: str) -> str:
        """Run a script."""
        return "ran"

    model = ScriptedModel([{"tool_calls": [call("risky", {"script": "x"})]}, "done"])
    session = make_session(model, [Tool.from_function(risky)], approve_mode="auto")
    asyncio.run(session.run_turn("train a model please"))
    write_trace(session.events, tmp_path / "trace.jsonl", Redactor(), session_id=session.id)
    stored = json.loads((tmp_path / "trace.tags.json").read_text())
    assert stored == {"session_id": session.id, "tags": session_tags(session.events)}
    assert {"tool:risky", "task:training", "model:scripted", "outcome:done"} <= set(stored["tags"])
    session.close()
