"""HF Jobs through `huggingface_hub.HfApi`: blocking client calls run in threads, logs follow in a daemon thread.

The log thread hands lines to the event loop in batches. When a stream ends or drops while the job still runs,
it reconnects and skips the lines it already delivered (the Hub replays a job's log from the start).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from ...agent.events import JOB_TERMINAL_STATUSES
from ..errors import from_hub_exception
from ..registry import ToolError

# Every stage after which a job never runs again (the one list, in the engine's events).
TERMINAL = frozenset(JOB_TERMINAL_STATUSES)
UV_IMAGE = "ghcr.io/astral-sh/uv:python3.12-bookworm"
# An inline script travels base64-encoded in the command; Linux caps one argument at 128 KiB.
MAX_INLINE_SCRIPT = 90_000
BATCH_LINES = 500
BATCH_S = 0.05
RECONNECT_PAUSE_S = 0.5


def make_api(endpoint: str, token: str | None) -> Any:
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint, token=token or False)


async def call(fn: Callable[..., Any], *args: Any, what: str = "the Hub", **kwargs: Any) -> Any:
    """Run a blocking huggingface_hub call in a thread; failures become ToolErrors that say what to do."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except ToolError:
        raise
    except Exception as exc:  # noqa: BLE001 - mapped by type and status in from_hub_exception
        raise from_hub_exception(exc, what) from None


def uv_command(script: str, dependencies: list[str], script_args: list[str], python: str | None = None) -> list[str]:
    """`uv run` of a script's source (never a path or URL: those were resolved before the card), as the command
    of a job on the uv image."""
    uv_args = [a for dep in dependencies for a in ("--with", dep)]
    if python:
        uv_args += ["--python", python]
    encoded = base64.b64encode(script.encode()).decode()
    if len(encoded) > MAX_INLINE_SCRIPT:
        raise ToolError(f"the script is {len(script)} bytes, too big to send inline (max about 65 KB): upload it to a "
                        "Hub repo with hf_repo_files and pass its URL as `script`")
    quoted = " ".join(_sh_quote(a) for a in [*uv_args, "/tmp/mlintern_script.py", *script_args])
    return ["bash", "-c", f"echo '{encoded}' | base64 -d > /tmp/mlintern_script.py && exec uv run {quoted}"]


def _sh_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)


class LogFollower:
    """Follows one job's logs in a daemon thread; delivers batches with `deliver(lines)` on the loop."""

    def __init__(self, api: Any, job_id: str, namespace: str, loop: asyncio.AbstractEventLoop,
                 deliver: Callable[[list[str]], None], on_notice: Callable[[str], None]) -> None:
        self.api, self.job_id, self.namespace = api, job_id, namespace
        self.loop, self.deliver, self.on_notice = loop, deliver, on_notice
        self.delivered = 0
        self.reconnects = 0
        self.stop = threading.Event()
        self.finished = asyncio.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"mlintern-logs-{job_id}")

    def start(self) -> None:
        self.thread.start()

    def _push(self, batch: list[str]) -> None:
        if batch and not self.stop.is_set():
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening any more
                self.loop.call_soon_threadsafe(self.deliver, batch)

    def _job_over(self) -> bool:
        try:
            info = self.api.inspect_job(job_id=self.job_id, namespace=self.namespace)
        except Exception:  # noqa: BLE001 - cannot tell: keep following until the stop flag
            return False
        return info.status.stage in TERMINAL

    def _read(self, follow: bool) -> None:
        """One pass over the log (the Hub replays it from the start): deliver only lines not delivered yet."""
        seen = 0
        batch: list[str] = []
        last = time.monotonic()
        try:
            for line in self.api.fetch_job_logs(job_id=self.job_id, namespace=self.namespace, follow=follow):
                if self.stop.is_set():
                    break
                seen += 1
                if seen <= self.delivered:
                    continue  # replayed after a reconnect: already shown
                batch.append(line)
                self.delivered += 1
                now = time.monotonic()
                if len(batch) >= BATCH_LINES or now - last >= BATCH_S:
                    self._push(batch)
                    batch, last = [], now
        finally:
            self._push(batch)

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    self._read(follow=True)
                except Exception as exc:  # noqa: BLE001 - a dropped stream is retried below
                    self._notice(f"log stream dropped ({type(exc).__name__}); reconnecting")
                if self.stop.is_set():
                    return
                if self._job_over():
                    # The client stops following once the job is over, even if its stream had dropped before
                    # the end: one last full read picks up the lines that were missed.
                    with contextlib.suppress(Exception):
                        self._read(follow=False)
                    return
                self.reconnects += 1
                self.stop.wait(RECONNECT_PAUSE_S)
        finally:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.finished.set)

    def _notice(self, text: str) -> None:
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.on_notice, text)
