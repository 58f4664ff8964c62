"""One dedicated agent thread with its own asyncio loop per kernel, started on first use.

Why a thread and not a task on the kernel's loop: `--wait` must block the cell until the turn ends, and a cell
cannot block on the loop it runs on (TOOLCHAIN.md). With the agent on its own loop both modes are the same code:
the magic submits the turn and returns, or submits it and joins the future.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any


class AgentRunner:
    def __init__(self, name: str = "mlintern-agent") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                loop = asyncio.new_event_loop()
                started = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(started.set)
                    loop.run_forever()

                # Daemon: a kernel shutting down must not wait for an agent in the middle of a model call.
                thread = threading.Thread(target=run, name=self.name, daemon=True)
                thread.start()
                started.wait(5)
                loop._thread = thread  # type: ignore[attr-defined]  # Session.cancel() compares against it
                self._loop, self._thread = loop, thread
            return self._loop

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, fn: Callable[[], Any]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def close(self, timeout: float = 2.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None
