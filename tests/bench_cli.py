"""Benchmark of the `mlintern` command (issue 18).

1. `mlintern run` with the offline demo model (the quickstart storyline: plan, kernel_inspect, a script cell, an
   approval by policy, a local scikit-learn job, polling, the answer) against the same prompt as a `%%intern --wait`
   cell in a kernel that is already open. The command's wall time includes starting Python, a kernel and
   `%load_ext`; measured on their own: the kernel start (an in-process headless run reports it), the command's
   imports, and the first `%%intern` cell in a fresh kernel (the agent's own imports, cold).
2. `mlintern sft build` over generated sessions (3 turns, 9 tool calls each, about 12 KB of log) at several
   sizes: wall time and peak memory (VmHWM of a fresh process per size, and Python's own peak by tracemalloc).

Run: python tests/bench_cli.py [--rounds 3] [--sizes 100,300,1000]  (the last line is JSON)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPT = "Train a classifier on the digits data and tell me its test accuracy."
DEMO = ["--model", "demo", "--approve", "auto", "--budget", "1"]


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "MLINTERN_HOME": str(home), "IPYTHONDIR": str(home / "ipython"),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true", "PYTHONPATH": str(ROOT)}


def command_run(home: Path) -> float:
    started = time.monotonic()
    proc = subprocess.run([str(Path(sys.executable).with_name("mlintern")), "run", PROMPT, *DEMO, "--export", "none",
                           "--out", str(home / "run.ipynb")], env=env_for(home), cwd=home, capture_output=True,
                          text=True, timeout=600)
    took = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"mlintern run failed ({proc.returncode}): {proc.stderr[-500:]}")
    return took


def headless_timings(home: Path) -> dict[str, float]:
    """The same run in this process: how long the kernel took to start, and the whole run."""
    import asyncio

    os.environ.update(env_for(home))
    from mlintern_jupyter.cli.headless import HeadlessRun, RunPlan
    from mlintern_jupyter.cli.notebooks import run_notebook

    notebook, index = run_notebook(PROMPT, {"model": "demo", "approve": "auto", "budget": 1}, None)
    with open(os.devnull, "w") as quiet:
        run = HeadlessRun(RunPlan(notebook, index, None, None, home), out=quiet, err=quiet)
        result = asyncio.run(run.run())
    assert result.code == 0, result
    return run.timings


def open_kernel_cells(home: Path, rounds: int) -> list[float]:
    """`%%intern --new --wait` cells in one kernel that stays open (extension loaded once, before timing); the
    first is the cold one (the agent's first imports in a fresh kernel), the others are warm."""
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env_for(home), cwd=str(home))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        kc.execute_interactive("%load_ext mlintern_jupyter", timeout=60)
        times = []
        for _ in range(rounds + 1):
            started = time.monotonic()
            reply = kc.execute_interactive(f"%%intern --new --wait {' '.join(DEMO)}\n{PROMPT}", timeout=600,
                                           output_hook=lambda msg: None)
            times.append(time.monotonic() - started)
            assert reply["content"]["status"] == "ok", reply
        return times
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def import_cli_s() -> float:
    """What starting the command costs before any kernel: Python and the CLI's imports (nbclient, nbformat)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import mlintern_jupyter.cli.headless"], check=True, timeout=120)
    return time.monotonic() - started


# ---- sft build --------------------------------------------------------------------------------------


def write_sessions(root: Path, count: int) -> int:
    from mlintern_jupyter.agent import events as ev
    from mlintern_jupyter.agent.migrations import SCHEMA_VERSION

    size = 0
    for n in range(count):
        sid = f"00000000-0000-4000-8000-{n:012d}"
        events: list[ev.Event] = [ev.SessionStarted(model="anthropic/claude-sonnet-4-5", name=f"bench-{n}")]
        for t in range(3):
            events.append(ev.UserPrompt(text=f"Fine-tune model {n} on dataset {t}; report the eval loss."))
            for step in range(3):
                call = f"call_{t}_{step}"
                args = {"operation": "logs", "job_id": f"job-{n}-{t}"}
                events += [ev.Usage(prompt_tokens=20_000 + step, completion_tokens=300, cost_usd=0.02),
                           ev.AssistantMessage(text="Checking the job. " * 8, tool_calls=[
                               {"id": call, "name": "hf_jobs", "arguments": json.dumps(args)}]),
                           ev.ToolCall(call_id=call, tool="hf_jobs", arguments=args),
                           ev.ToolStarted(call_id=call, tool="hf_jobs"),
                           ev.ToolResult(call_id=call, tool="hf_jobs", ok=True,
                                         content=f"step {step}: loss 0.{n % 97:02d}\n" * 30)]
            events += [ev.AssistantMessage(text="The eval loss is 0.31."), ev.TurnEnded(reason="done")]
        folder = root / sid
        folder.mkdir(parents=True)
        lines = [json.dumps({"v": SCHEMA_VERSION, **{**e.to_dict(), "session_id": sid, "seq": i + 1,
                                                    "ts": "2026-12-01T10:00:00.000Z"}}) for i, e in enumerate(events)]
        data = "\n".join(lines) + "\n"
        (folder / "events.jsonl").write_text(data)
        size += len(data)
    return size


def sft_child(root: str, out: str) -> None:
    """Run in a fresh process: build, then report time, VmHWM and tracemalloc's peak as JSON."""
    from mlintern_jupyter.sft.build import build
    from mlintern_jupyter.sft.select import Selection

    tracemalloc.start()
    started = time.monotonic()
    result = build(Path(root), Path(out), selection=Selection(), fmt="parquet" if out.endswith(".parquet") else "jsonl")
    took = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    hwm = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmHWM"))
    print(json.dumps({"rows": result.rows, "seconds": round(took, 2), "vmhwm_mib": round(hwm / 1024, 1),
                      "python_peak_mib": round(peak / 2**20, 1), "out_mib": round(Path(out).stat().st_size / 2**20, 1)}))


def sft_sizes(sizes: list[int]) -> dict[str, dict]:
    figures = {}
    with tempfile.TemporaryDirectory(prefix="mlintern-bench-sft-") as tmp:
        for count in sizes:
            root = Path(tmp) / f"s{count}"
            log_bytes = write_sessions(root, count)
            for fmt in ("jsonl", "parquet"):
                out = Path(tmp) / f"out{count}.{fmt}"
                proc = subprocess.run([sys.executable, __file__, "--sft-child", str(root), str(out)], capture_output=True,
                                      text=True, timeout=1200, env={**os.environ, "PYTHONPATH": str(ROOT)})
                if proc.returncode != 0:
                    raise SystemExit(proc.stderr[-800:])
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                row["log_mib"] = round(log_bytes / 2**20, 1)
                figures[f"{fmt}_{count}"] = row
                print(f"sft build {fmt} {count} sessions: {row}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="100,300,1000")
    parser.add_argument("--sft-child", nargs=2)
    args = parser.parse_args()
    if args.sft_child:
        sft_child(*args.sft_child)
        return
    with tempfile.TemporaryDirectory(prefix="mlintern-bench-cli-") as tmp:
        home = Path(tmp)
        command, timings = [], []
        for _ in range(args.rounds):  # interleaved, so a busy machine weighs on both sides alike
            command.append(command_run(home))
            timings.append(headless_timings(home))
        print(f"mlintern run: {[round(t, 2) for t in command]} s", flush=True)
        first, *cells = open_kernel_cells(home, args.rounds)
        print(f"%%intern --wait in an open kernel: first {first:.2f} s, then {[round(t, 2) for t in cells]} s",
              flush=True)
    kernel_start = statistics.median(t["kernel_start_s"] for t in timings)
    run_s = statistics.median(t["run_s"] for t in timings)
    figures = {
        "command_s": round(statistics.median(command), 2), "open_kernel_cell_s": round(statistics.median(cells), 2),
        "kernel_start_s": round(kernel_start, 2), "in_process_run_s": round(run_s, 2),
        "first_cell_fresh_kernel_s": round(first, 2), "import_cli_s": round(import_cli_s(), 2),
        "rounds": args.rounds,
    }
    figures["ratio"] = round(figures["command_s"] / figures["open_kernel_cell_s"], 2)
    figures["ratio_without_kernel_start"] = round((figures["command_s"] - kernel_start) / figures["open_kernel_cell_s"], 2)
    figures["sft"] = sft_sizes([int(s) for s in args.sizes.split(",")])
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
