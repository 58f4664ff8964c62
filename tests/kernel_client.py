"""A small client for tests that drive a real ipykernel through jupyter_client."""

from __future__ import annotations

import json
import time
from typing import Any

from jupyter_client import KernelManager


class KernelClient:
    def __init__(self, km: KernelManager) -> None:
        self.km = km
        self.kc = km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 30) -> tuple[str, dict]:
        """Execute a cell; returns what it printed (tracebacks included) and the execute reply."""
        out: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        reply = self.kc.execute_interactive(code, output_hook=hook, timeout=timeout)
        return "".join(out), reply

    def value(self, expression: str) -> Any:
        """A JSON-serialisable expression evaluated in the kernel (needs `json` imported there)."""
        out, reply = self.run(f"print(json.dumps({expression}))")
        assert reply["content"]["status"] == "ok", out
        return json.loads(out.strip().splitlines()[-1])

    def wait_for(self, expression: str, timeout: float = 10, poll: float = 0.05) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.value(expression):
                return time.monotonic() - start
            time.sleep(poll)
        raise AssertionError(f"timed out waiting for {expression}; events: {self.value('kinds()')}")
