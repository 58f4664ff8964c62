"""Benchmark: the cost of the OS sandbox on 1,000 `bash` tool calls, sandboxed and plain side by side.

Run with `PYTHONPATH=. python tests/bench_sandbox.py [commands]` (not collected by pytest). The same `bash` tool
runs the same short commands (echo, ls, wc, a small pipeline: what an agent's bash calls mostly are), once as a
person-approved call (plain: the person's own environment, no sandbox) and once as a policy-approved call (inside
bubblewrap), interleaved in blocks so both see the same machine load. Prints the medians and the ratio
sandboxed / plain as a last JSON line.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlintern_jupyter.tools.os_sandbox import unavailable_reason  # noqa: E402
from mlintern_jupyter.tools.registry import ToolContext  # noqa: E402
from mlintern_jupyter.tools.sandbox import bash  # noqa: E402

COMMANDS = ["echo hello", "ls -la", "wc -l notes.txt", "cat notes.txt | sort | uniq -c | head -3", "pwd; date"]
BLOCK = 25


async def timed(ctx: ToolContext, command: str) -> float:
    started = time.perf_counter()
    result = await bash(command, ctx)
    took = time.perf_counter() - started
    if not result.ok:
        raise RuntimeError(f"{command!r} failed: {result.content[:200]}")
    return took


async def main(total: int) -> dict[str, object]:
    why = unavailable_reason()
    if why:
        return {"bench": "sandbox", "error": f"no sandbox here: {why}"}
    workspace = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    (workspace / "notes.txt").write_text("\n".join(f"line {i % 7}" for i in range(200)))
    plain = ToolContext(session_id="bench", call_id="plain", workspace=workspace, approved_by="person")
    boxed = ToolContext(session_id="bench", call_id="boxed", workspace=workspace, approved_by="policy")
    times: dict[str, list[float]] = {"plain": [], "sandboxed": []}
    for ctx in (plain, boxed):  # warm-up: first exec of bash and bwrap, page cache
        await timed(ctx, "true")
    done = 0
    while done < total:
        n = min(BLOCK, total - done)
        for name, ctx in (("plain", plain), ("sandboxed", boxed)):
            for i in range(n):
                times[name].append(await timed(ctx, COMMANDS[(done + i) % len(COMMANDS)]))
        done += n
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    total_s = {k: sum(v) for k, v in times.items()}
    return {"bench": "sandbox", "commands": total, "plain_median_ms": round(med["plain"], 2),
            "sandboxed_median_ms": round(med["sandboxed"], 2), "plain_total_s": round(total_s["plain"], 2),
            "sandboxed_total_s": round(total_s["sandboxed"], 2),
            "ratio_total": round(total_s["sandboxed"] / total_s["plain"], 2),
            "extra_ms_per_command": round((total_s["sandboxed"] - total_s["plain"]) / total * 1000, 2)}


if __name__ == "__main__":
    figures = asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
    print(f"plain: {figures.get('plain_median_ms')} ms median, sandboxed: {figures.get('sandboxed_median_ms')} ms")
    print(json.dumps(figures))
