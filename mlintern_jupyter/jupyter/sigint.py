"""The kernel's interrupt button stops a running turn.

ipykernel ignores SIGINT while idle (`signal(SIGINT, SIG_IGN)` at start) and, around each shell request,
`pre_handler_hook` swaps in `default_int_handler` after saving the current handler in
`kernel.saved_sigint_handler`; `post_handler_hook` puts the saved one back (ipykernel 6 and 7 alike). The agent
runs while the kernel is idle, so our handler must be the one restored after each request: we install it by
replacing `saved_sigint_handler` (installing with `signal.signal` from inside a cell would be undone by
`post_handler_hook`). It cancels running turns and chains to the handler it replaced.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any


class SigintHook:
    def __init__(self, on_interrupt: Callable[[], None]) -> None:
        self.on_interrupt = on_interrupt
        self.previous: Any = None
        self.kernel: Any = None
        self.installed = False

    def __call__(self, signum: int, frame: Any) -> None:
        try:
            self.on_interrupt()
        finally:
            previous = self.previous
            if callable(previous):
                previous(signum, frame)

    def install(self, kernel: Any) -> None:
        if self.installed:
            return
        if kernel is not None and hasattr(kernel, "saved_sigint_handler"):
            # Inside an execute request: post_handler_hook will install what we leave here.
            self.kernel = kernel
            self.previous = kernel.saved_sigint_handler
            kernel.saved_sigint_handler = self
        elif threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self)
        else:
            return
        self.installed = True

    def uninstall(self) -> None:
        if not self.installed:
            return
        if self.kernel is not None:
            if self.kernel.saved_sigint_handler is self:
                self.kernel.saved_sigint_handler = self.previous
        elif threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is self:
            signal.signal(signal.SIGINT, self.previous)
        self.installed = False
