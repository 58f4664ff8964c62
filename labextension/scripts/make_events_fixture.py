"""Write tests/fixtures/events.jsonl: one realistic event of every kind, built from the dataclasses.

Run from the repository root: python labextension/scripts/make_events_fixture.py
The file is shared by pytest and the TypeScript tests (STYLE.md rule 10).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SESSION = "3f2b8c1e-9d4a-4e7b-a1c2-5d6e7f8a9b0c"
SCRIPT = "from transformers import Trainer\nprint('training distilbert on imdb')\n"


def load_events():
    # Loaded by path so the fixture does not depend on the package's __init__ being importable.
    spec = importlib.util.spec_from_file_location("_events", ROOT / "mlintern_jupyter/agent/events.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["_events"] = module
    spec.loader.exec_module(module)
    return module


def story(e):
    job_args = {
        "operation": "uv",
        "script": SCRIPT,
        "hardware_flavor": "a10g-small",
        "timeout": "2h",
        "dependencies": ["transformers", "datasets"],
    }
    return [
        e.SessionStarted(model="anthropic/claude-sonnet-4-5", approve_mode="ask", budget_usd=5.0,
                         workspace="/root/.mlintern/sessions/" + SESSION + "/workspace", name="20250101-120000-3f2b",
                         cwd="/root/notebooks", reasoning_effort="medium"),
        e.UserPrompt(text="fine-tune distilbert on imdb and push it to my namespace", cell_id="cell-intern-1",
                     kernel_digest="```kernel\nIn [1]: import torch\n```"),
        e.PromptQueued(text="also report the eval accuracy", position=1),
        e.AssistantDelta(text="I'll start by **inspecting** the `imdb` dataset"),
        e.AssistantMessage(
            text="I'll start by **inspecting** the `imdb` dataset, then write a training script.",
            tool_calls=[{"id": "call_job1", "name": "hf_jobs", "arguments": json.dumps(job_args)}],
            model="anthropic/claude-sonnet-4-5",
        ),
        e.PlanUpdated(todos=[
            {"id": "1", "content": "Inspect imdb", "status": "completed"},
            {"id": "2", "content": "Write training script", "status": "in_progress"},
            {"id": "3", "content": "Launch training job", "status": "pending"},
        ]),
        e.ToolCall(call_id="call_job1", tool="hf_jobs", arguments=job_args),
        e.ApprovalRequested(
            call_id="call_job1", nonce="n-7f3e9a", action_sha256="9f2c4e1b" + "0" * 56, cost_usd=2.0,
            expires_at="2025-01-01T12:10:00.000Z", tool="hf_jobs",
            action={"tool": "hf_jobs", "operation": "uv", "hardware": "a10g-small", "timeout": "2h",
                    "namespace": "me", "script": SCRIPT},
            budget_left_usd=4.95, reason="GPU job on HF compute",
        ),
        e.ApprovalResolved(call_id="call_job1", decision="approved", by="person", feedback="go ahead",
                           nonce="n-7f3e9a", edited_sha256="5a1d" + "0" * 60, edited_script=SCRIPT + "# edited\n"),
        e.ToolStarted(call_id="call_job1", tool="hf_jobs"),
        e.JobUpdated(call_id="call_job1", job_id="job-42", status="RUNNING", runtime="hf", hardware="a10g-small",
                     url="https://huggingface.co/jobs/me/job-42", cost_usd=0.0),
        e.ToolOutput(call_id="call_job1", text="epoch 1/3 loss=0.41\nepoch 2/3 loss=0.29\n", job_id="job-42"),
        e.SubagentProgress(call_id="call_job1", agent="research", step="tool_call", tool="hf_papers",
                           text='operation="citation_graph", arxiv_id="2305.18290"', ok=True),
        e.ToolResult(call_id="call_job1", tool="hf_jobs", ok=True, content="Job job-42 started (a10g-small, 2h).",
                     status="ok", duration_s=1.25),
        e.CellInsert(call_id="call_cell1", source=SCRIPT, cell_type="code", anchor_cell_id="cell-intern-1",
                     script_path="scripts/train.py"),
        e.Usage(prompt_tokens=12000, completion_tokens=800, cache_read_tokens=9000, cache_write_tokens=2000,
                cost_usd=0.05, model="anthropic/claude-sonnet-4-5"),
        e.BudgetUpdated(cap_usd=5.0, llm_spent_usd=0.05, compute_reserved_usd=2.0, compute_spent_usd=0.0),
        e.Compacted(summary="Inspected imdb; wrote train.py; job-42 launched.", start=2, end=14,
                    tokens_before=150000, tokens_after=30000),
        e.GuardFired(guard="doom_loop", message="The same hf_jobs logs call repeated 3 times; try a different step."),
        e.Notice(message="Demo model: responses are scripted.", level="warning"),
        e.ModelChanged(model="openai/gpt-4.1", api_base=None),
        e.EffortFallback(model="openai/gpt-4.1", requested="medium", effective=None,
                         reason="its endpoint does not take 'medium'"),
        e.PriceSet(model="moonshotai/Kimi-K2.6:novita", input_per_mtok=0.6, output_per_mtok=2.5),
        e.ContextWindowLearned(model="ollama/llama3.1", tokens=8192),
        e.RetryWait(reason="rate limit, HTTP 429", seconds_left=30, attempt=1, max_attempts=2),
        e.Error(message="Rate limited by provider", error_type="RateLimitError", hint="Wait a minute or switch model."),
        e.JobMetrics(call_id="call_job1", job_id="job-42", points=[{"epoch": 1.0, "loss": 0.41},
                                                                   {"epoch": 2.0, "loss": 0.29}]),
        e.ComputeReserved(call_id="call_job2", amount_usd=2.0),
        e.ComputeReleased(call_id="call_job2", reason="the call failed"),
        e.JobCancelRequested(job_id="job-42", by="person"),
        e.ComputeSettled(call_id="call_job1", job_id="job-42", cost_usd=0.61),
        e.ApproveModeChanged(mode="auto"),
        e.EffortChanged(effort="medium"),
        e.MaxIterationsChanged(max_iterations=50),
        e.TraceModeChanged(mode="off"),
        e.TurnEnded(reason="done", iterations=7, message=""),
        e.SessionEnded(reason="user"),
    ]


def main() -> None:
    e = load_events()
    events = story(e)
    kinds = [ev.kind for ev in events]
    missing = set(e.EVENT_TYPES) - set(kinds)
    assert not missing, f"fixture lacks kinds: {sorted(missing)}"
    out = ROOT / "tests/fixtures/events.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for seq, ev in enumerate(events, start=1):
            data = ev.to_dict()
            data.update(session_id=SESSION, seq=seq, ts=f"2025-01-01T12:00:{seq:02d}.000Z")
            e.event_from_dict(data)  # round-trips
            f.write(json.dumps(data, ensure_ascii=False) + "\n")
    print(f"wrote {len(events)} events to {out}")


if __name__ == "__main__":
    main()
