"""Benchmark: a job emitting 200,000 log lines, followed by the hf_jobs watcher.

Run with `PYTHONPATH=. python tests/bench_jobs.py [lines]` (not collected by pytest). For the local runtime and
for HF Jobs on the loopback fake Hub it prints: peak Python memory of the watcher
(tracemalloc, in a second run, since tracing slows everything down), time from the tool call to the first log
event, number and size of the streamed events, and the size of what reaches the model's context (the launch
result and `logs` with tail / grep).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import huggingface_hub.hf_api  # noqa: E402,F401 - imported up front: its import is not the watcher's cost

FAKE_HUB = """
import sys
from tests.fakes import FakeHub
with FakeHub(log_line_delay=0.0) as hub:
    hub.next_job([f"step {{i}} loss={{1 / (i + 1):.6f}}" for i in range({lines})], line_delay=0.000001)
    print(hub.url, hub.token, flush=True)
    sys.stdin.readline()  # the second run (with tracemalloc) gets its own job
    hub.next_job([f"step {{i}} loss={{1 / (i + 1):.6f}}" for i in range({lines})], line_delay=0.000001)
    sys.stdin.read()
"""

from mlintern_jupyter.agent import events as ev  # noqa: E402
from mlintern_jupyter.agent.tooling import SessionServices  # noqa: E402
from mlintern_jupyter.tools.config import ToolsConfig  # noqa: E402
from mlintern_jupyter.tools.jobs import make_hf_jobs  # noqa: E402
from mlintern_jupyter.tools.registry import ToolContext  # noqa: E402


async def bench(config: ToolsConfig, workspace: Path, run_args: dict, label: str, trace: bool) -> dict:
    workspace.mkdir(parents=True, exist_ok=True)
    tool = make_hf_jobs(config)
    first: list[float] = []
    stats = {"events": 0, "event_chars": 0}

    def emit(event) -> None:
        if isinstance(event, ev.ToolOutput):
            if not first:
                first.append(time.perf_counter())
            stats["events"] += 1
            stats["event_chars"] += len(event.text)

    ctx = ToolContext(session_id="bench", call_id="call_bench", workspace=workspace, emit=emit, services=SessionServices())
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    launched = await tool.run(tool.validate(run_args), ctx)
    manager = ctx.services.jobs
    (handle,) = manager.handles.values()
    await manager.wait(handle.job_id, timeout=600)
    took = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    tail = await tool.run(tool.validate({"operation": "logs", "job_id": handle.job_id, "tail": 50}), ctx)
    grep = await tool.run(tool.validate({"operation": "logs", "job_id": handle.job_id, "grep": "loss=0.00"}), ctx)
    if trace:
        return {"watcher_peak_mib": round(peak / 2**20, 2)}
    return {
        "runtime": label, "status": handle.status, "lines": handle.sink.total_lines if handle.sink else None,
        "wall_s": round(took, 2), "first_log_event_s": round(first[0] - started, 3) if first else None,
        "stream_events": stats["events"],
        "stream_chars": stats["event_chars"], "launch_result_chars": len(launched.content),
        "logs_tail50_chars": len(tail.content), "logs_grep_chars": len(grep.content),
    }


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    program = f"for i in range({lines}): print(f'step {{i}} loss={{1/(i+1):.6f}}')"
    results = []
    with tempfile.TemporaryDirectory(prefix="mlintern_bench_") as tmp:
        root = Path(tmp)
        local = ToolsConfig(hf_token="", runtime="local")
        run_local = {"operation": "run", "command": [sys.executable, "-c", program]}
        row = asyncio.run(bench(local, root / "local" / "workspace", run_local, "local", trace=False))
        row.update(asyncio.run(bench(local, root / "local2" / "workspace", run_local, "local", trace=True)))
        results.append(row)
        # The fake Hub runs in its own process so that tracemalloc measures the watcher, not the server.
        server = subprocess.Popen([sys.executable, "-c", FAKE_HUB.format(lines=lines)], stdout=subprocess.PIPE,
                                  stdin=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            url, token = server.stdout.readline().split()
            os.environ.pop("HF_TOKEN", None)
            config = ToolsConfig(hf_endpoint=url, hf_token=token, runtime="hf")
            run_hf = {"operation": "run", "command": ["python", "train.py"]}
            row = asyncio.run(bench(config, root / "hf" / "workspace", run_hf, "hf (fake Hub)", trace=False))
            server.stdin.write("again\n")
            server.stdin.flush()
            row.update(asyncio.run(bench(config, root / "hf2" / "workspace", run_hf, "hf (fake Hub)", trace=True)))
            results.append(row)
        finally:
            server.stdin.close()
            server.wait(timeout=10)
    for row in results:
        print(" | ".join(f"{k}={v}" for k, v in row.items()))
    print(json.dumps({"bench": "jobs", "lines": lines, "runs": results}))


if __name__ == "__main__":
    main()
