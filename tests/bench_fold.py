"""Benchmark of the state fold (issue 12): replay time of long logs, live-versus-replay equality over generated
event sequences, and trace totals as claude-code-log reads them against the session's own usage.

Run: python tests/bench_fold.py  (prints figures; the last line is JSON for scripts/benchmarks.py)
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from mlintern_jupyter.agent import events as ev  # noqa: E402
from mlintern_jupyter.agent.core import default_system_prompt, fold_log  # noqa: E402
from mlintern_jupyter.agent.migrations import SCHEMA_VERSION  # noqa: E402
from mlintern_jupyter.agent.store import read_events  # noqa: E402
from tests.fold_check import SEQUENCES, live_vs_replay  # noqa: E402

SESSION = "5e0c1d2a-3b4c-4d5e-8f60-718293a4b5c6"
PROPERTY_EXAMPLES = 300


def turn(rng: random.Random, n: int) -> list[ev.Event]:
    """One realistic model iteration: usage, a message with two tool calls, their lifecycle, job output."""
    a, b = f"call_{n}_a", f"call_{n}_b"
    nonce = f"nonce-{n}"
    action = {"tool": "hf_jobs", "operation": "run", "runtime": "", "hardware_flavor": "a10g-small",
              "timeout_s": 3600, "namespace": "", "image": "", "target": "", "command": [], "script": "print(1)",
              "arguments_json": "{}"}
    return [
        ev.Usage(prompt_tokens=rng.randint(1_000, 90_000), completion_tokens=rng.randint(10, 900),
                 cache_read_tokens=rng.randint(0, 800), cost_usd=rng.random() / 100),
        ev.AssistantMessage(text="Checking the run. " * rng.randint(1, 20), tool_calls=[
            {"id": a, "name": "hf_jobs", "arguments": '{"operation": "logs"}'},
            {"id": b, "name": "hf_jobs", "arguments": '{"operation": "run"}'}]),
        ev.ToolCall(call_id=a, tool="hf_jobs", arguments={"operation": "logs"}),
        ev.ToolCall(call_id=b, tool="hf_jobs", arguments={"operation": "run"}),
        ev.ToolStarted(call_id=a, tool="hf_jobs"),
        ev.ApprovalRequested(call_id=b, nonce=nonce, action_sha256="0" * 64, cost_usd=1.5,
                             expires_at="2030-01-01T00:00:00.000Z", tool="hf_jobs", action=action),
        ev.ApprovalResolved(call_id=b, nonce=nonce, decision="approved", by="policy"),
        ev.ComputeReserved(call_id=b, amount_usd=1.5),
        ev.ToolStarted(call_id=b, tool="hf_jobs"),
        ev.ToolOutput(call_id=b, job_id=f"job-{n}", text="step=1 loss=0.5\n" * 20),
        ev.JobMetrics(call_id=b, job_id=f"job-{n}", points=[{"step": float(i), "loss": 1 / (i + 1)} for i in range(20)]),
        ev.JobUpdated(call_id=b, job_id=f"job-{n}", status="COMPLETED", runtime="hf", cost_usd=0.4),
        ev.ComputeSettled(call_id=b, job_id=f"job-{n}", cost_usd=0.4),
        ev.ToolResult(call_id=a, tool="hf_jobs", ok=True, content="log tail " * rng.randint(5, 200)),
        ev.ToolResult(call_id=b, tool="hf_jobs", ok=True, content="Started job."),
        ev.PlanUpdated(todos=[{"id": "1", "content": "train", "status": "in_progress"}]),
    ]


def write_log(home: Path, count: int) -> Path:
    """A log of `count` events written in the store's own line format (without an fsync per line)."""
    rng = random.Random(count)
    folder = home / "sessions" / SESSION
    folder.mkdir(parents=True)
    events: list[ev.Event] = [ev.SessionStarted(model="scripted", name="bench")]
    n = 0
    while len(events) < count:
        if n % 25 == 0:
            events += [ev.TurnEnded(reason="done"), ev.UserPrompt(text=f"prompt {n}")]
        events += turn(rng, n)
        n += 1
    path = folder / "events.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for seq, event in enumerate(events[:count], start=1):
            data = {**event.to_dict(), "session_id": SESSION, "seq": seq, "ts": "2026-01-01T00:00:00.000Z"}
            handle.write(json.dumps({"v": SCHEMA_VERSION, **data}, ensure_ascii=False, separators=(",", ":")) + "\n")
    return path


def replay_seconds(path: Path, rounds: int = 3) -> tuple[float, float]:
    """(read + decode + fold, plain json.loads of every line) in seconds, best of `rounds`."""
    folds, parses = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        restored = fold_log(read_events(path), default_system_prompt())
        folds.append(time.perf_counter() - start)
        assert not restored.bad_records and not restored.log.bad_lines
        start = time.perf_counter()
        for line in path.read_bytes().splitlines():
            json.loads(line)
        parses.append(time.perf_counter() - start)
    return min(folds), min(parses)


def property_check() -> dict:
    seen = {"examples": 0, "prefixes": 0, "mismatching_examples": 0}

    @settings(max_examples=PROPERTY_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(SEQUENCES)
    def check(events: list[ev.Event]) -> None:
        with tempfile.TemporaryDirectory() as home:
            compared, mismatches = live_vs_replay(events, Path(home))
        seen["examples"] += 1
        seen["prefixes"] += compared
        seen["mismatching_examples"] += bool(mismatches)

    check()
    return seen


def trace_totals() -> dict:
    from claude_code_log.converter import compute_session_data, load_transcript

    from mlintern_jupyter.agent.models.base import ModelUsage
    from mlintern_jupyter.agent.trace import write_trace
    from tests.test_trace_readers import generated_session

    rng = random.Random(12)
    calls = []
    for _ in range(7):
        read, write, fresh = rng.randint(0, 50_000), rng.randint(0, 20_000), rng.randint(1, 20_000)
        calls.append(ModelUsage(read + write + fresh, rng.randint(0, 4_000), read, write, 0.001))
    with tempfile.TemporaryDirectory() as tmp:
        session = generated_session(Path(tmp), calls)
        path = Path(tmp) / "projects" / "nb" / f"{session.id}.jsonl"
        write_trace(session.events, path, session.redactor, session_id=session.id)
        (reported,) = compute_session_data(load_transcript(path, silent=True)).values()
        session.close()
    usage = session.usage
    ours = {"input_incl_cache": usage.prompt_tokens, "output": usage.completion_tokens,
            "cache_read": usage.cache_read_tokens, "cache_write": usage.cache_write_tokens}
    theirs = {"input_incl_cache": reported.total_input_tokens + reported.total_cache_read_tokens
              + reported.total_cache_creation_tokens, "output": reported.total_output_tokens,
              "cache_read": reported.total_cache_read_tokens, "cache_write": reported.total_cache_creation_tokens}
    return {"session": ours, "claude_code_log": theirs, "equal": ours == theirs}


def main() -> None:
    figures: dict = {"bench": "fold"}
    with tempfile.TemporaryDirectory() as tmp:
        for count in (10_000, 100_000):
            path = write_log(Path(tmp) / str(count), count)
            fold, parse = replay_seconds(path, rounds=3)
            figures[f"replay_s_{count}"] = round(fold, 3)
            figures[f"json_loads_s_{count}"] = round(parse, 3)
            figures[f"log_mib_{count}"] = round(path.stat().st_size / 2**20, 1)
            print(f"replay of {count:,} events ({figures[f'log_mib_{count}']} MiB): {fold:.3f} s "
                  f"(json.loads of the same lines: {parse:.3f} s)")
    figures["replay_ratio_100k_10k"] = round(figures["replay_s_100000"] / figures["replay_s_10000"], 2)
    figures["json_loads_ratio_100k_10k"] = round(figures["json_loads_s_100000"] / figures["json_loads_s_10000"], 2)
    started = time.perf_counter()
    figures["property"] = property_check()
    figures["property"]["seconds"] = round(time.perf_counter() - started, 1)
    print(f"live vs replay: {figures['property']}")
    figures["trace"] = trace_totals()
    print(f"trace totals: {figures['trace']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
