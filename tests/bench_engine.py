"""Benchmark for the engine (issue 2): loop overhead per iteration vs history size, and import cost.

Run: python tests/bench_engine.py   (prints figures; not part of the test run)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlintern_jupyter.agent import events as ev  # noqa: E402
from mlintern_jupyter.agent.messages import ToolCallPart  # noqa: E402
from mlintern_jupyter.agent.models.base import ModelResponse, ModelUsage  # noqa: E402
from mlintern_jupyter.agent.session import Session, SessionConfig  # noqa: E402
from mlintern_jupyter.tools.registry import ToolRegistry, tool  # noqa: E402

ITERATIONS = 60


@tool(read_only=True)
async def noop() -> str:
    """Do nothing."""
    return "ok"


class ZeroLatencyModel:
    """Answers instantly without looking at the transcript, so only the loop's own work is measured."""

    name = "bench"
    context_window = 10_000_000
    offline = True

    def __init__(self, iterations: int) -> None:
        self.left = iterations
        self.calls = 0
        self.call_response = ModelResponse(tool_calls=(ToolCallPart("", "noop", "{}"),), usage=ModelUsage(1, 1))

    def count_tokens(self, message) -> int:  # type: ignore[no-untyped-def]
        return 10

    async def request(self, messages, tools, settings, on_delta=None):  # type: ignore[no-untyped-def]
        self.calls += 1
        self.left -= 1
        if self.left < 0:
            return ModelResponse(text="done", usage=ModelUsage(1, 1))
        return ModelResponse(tool_calls=(ToolCallPart(f"c{self.calls}", "noop", "{}"),), usage=ModelUsage(1, 1))


def per_iteration_ms(history: int, home: Path) -> float:
    model = ZeroLatencyModel(ITERATIONS)
    os.environ["MLINTERN_HOME"] = str(home)
    session = Session(SessionConfig(model="bench"), ToolRegistry([noop]), model=model)
    for i in range(history // 2):
        session.emit(ev.UserPrompt(text=f"earlier prompt {i} " * 20))
        session.emit(ev.AssistantMessage(text=f"earlier answer {i} " * 40))
    start = time.perf_counter()
    asyncio.run(session.run_turn("go"))
    elapsed = time.perf_counter() - start
    session.close()
    return elapsed / (ITERATIONS + 1) * 1000


def import_wall_ms(code: str, runs: int = 7) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        figures = {}
        for history in (10, 100, 1000):
            samples = [per_iteration_ms(history, Path(tmp) / f"h{history}-{r}") for r in range(3)]
            figures[history] = statistics.median(samples)
            print(f"loop overhead per iteration at {history:>5} transcript messages: {figures[history]:.3f} ms")
        ratio = figures[1000] / figures[10]
        print(f"ratio 1000/10: {ratio:.2f} (goal <= 1.5)")
    base, ours = [], []
    for _ in range(7):  # interleaved, so both see the same machine noise
        base += import_wall_ms("import IPython", 1)
        ours += import_wall_ms("import IPython, sys, mlintern_jupyter; assert 'litellm' not in sys.modules", 1)
    extra = statistics.median(ours) - statistics.median(base)
    print(f"import IPython: {statistics.median(base):.0f} ms; import IPython + mlintern_jupyter: "
          f"{statistics.median(ours):.0f} ms; extra {extra:.0f} ms (goal <= 150 ms, litellm not imported)")
    # The last line, for scripts/benchmarks.py (the import run above asserts litellm stayed out).
    print(json.dumps({"bench": "engine", "per_iteration_ms": {str(k): round(v, 3) for k, v in figures.items()},
                      "ratio_1000_10": round(ratio, 3), "import_ipython_ms": round(statistics.median(base), 1),
                      "import_ours_ms": round(statistics.median(ours), 1), "import_extra_ms": round(extra, 1),
                      "litellm_imported": False}))


if __name__ == "__main__":
    main()
