"""Benchmark: what a 50-tool-call turn sends from the kernel to the frontend, and kernel memory over 1,000 events.

Run: `PYTHONPATH=. .venv/bin/python tests/bench_comm.py` (a real ipykernel; not collected by pytest).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client import KernelManager

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_kernel_magic import Kernel  # noqa: E402

CALLS = 50


def iopub_during(kernel: Kernel, code: str) -> tuple[int, int, dict[str, int]]:
    kc = kernel.kc
    while kc.iopub_channel.msg_ready():
        kc.get_iopub_msg(timeout=1)
    msg_id = kc.execute(code)
    count = size = 0
    kinds: dict[str, int] = {}
    while True:
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" \
                and msg["content"]["execution_state"] == "idle":
            break
        count += 1
        size += len(json.dumps(msg["content"], default=str)) + len(json.dumps(msg["header"], default=str))
        key = msg["msg_type"] + (":" + msg["content"].get("data", {}).get("method", "") if msg["msg_type"] == "comm_msg" else "")
        kinds[key] = kinds.get(key, 0) + 1
    return count, size, kinds


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="jup4_bench_"))
    script = home / "fifty.json"
    batches = [{"text": f"step {i}: reading the notebook", "tool_calls": [
        {"name": "notebook_read", "arguments": {"last": 5}} for _ in range(5)]} for i in range(CALLS // 5)]
    script.write_text(json.dumps([*batches, "All fifty calls done."]))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]), IPYTHONDIR=str(home / "ipy"),
               MLINTERN_HOME=str(home / "home"), LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_OFFLINE_MODE="true")
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env, cwd=str(home))
    kernel = Kernel(km)
    try:
        kernel.run("%load_ext mlintern_jupyter\nimport json\n"
                   "agent = get_ipython().magics_manager.registry['InternMagics'].agent")
        start = time.monotonic()
        figures: dict = {"bench": "comm"}
        count, size, kinds = iopub_during(kernel, f"%%intern --model scripted:{script} --wait\nread it fifty times")
        took = time.monotonic() - start
        calls = kernel.value("sum(1 for e in agent.session.events if e.kind == 'tool_result')")
        print(f"widgets only: {calls} tool calls in {took:.2f}s -> {count} iopub messages, {size / 1024:.1f} KiB")
        print("  by type:", dict(sorted(kinds.items(), key=lambda kv: -kv[1])))
        figures.update(tool_calls=calls, widgets_messages=count, widgets_bytes=size)
        kc = kernel.kc
        kc.shell_channel.send(kc.session.msg("comm_open", {"comm_id": "bench", "target_name": "mlintern",
                                                            "data": {"type": "hello"}}))
        time.sleep(0.5)
        count, size, kinds = iopub_during(kernel, f"%%intern --new --model scripted:{script} --wait\nagain")
        print(f"widgets + mlintern comm: {count} iopub messages, {size / 1024:.1f} KiB; "
              f"comm events {kinds.get('comm_msg:', 0)}")
        figures.update(with_comm_messages=count, with_comm_bytes=size, comm_events=kinds.get("comm_msg:", 0))
        memory = kernel.value(
            "(lambda: (__import__('tracemalloc').start(), __import__('gc').collect(), "
            "[agent.session.emit(__import__('mlintern_jupyter.agent.events', fromlist=['x']).ToolOutput("
            "call_id='c', text='step=%d loss=0.5' % i)) for i in range(1000)], "
            "__import__('gc').collect(), __import__('tracemalloc').get_traced_memory()[0], "
            "__import__('tracemalloc').stop())[-2])()")
        print(f"kernel memory growth over 1,000 events (tracemalloc, view + log + comm attached): "
              f"{memory / 1024:.0f} KiB ({memory / 1000:.0f} bytes/event)")
        figures.update(memory_1000_events_bytes=memory)
        print(json.dumps(figures))
    finally:
        kernel.kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
