"""JobHandle: one job as the session follows it, whichever runtime runs it (HF Jobs or a local process).

The JobManager creates and updates handles; its record files on disk are a handle's `summary()` plus what
re-attachment needs, and the tool answers `ps` and `inspect` from the same summary.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import hf
from .local import LocalProcess
from .logs import LogSink


@dataclass
class JobHandle:
    job_id: str
    call_id: str
    session_id: str
    runtime: Literal["hf", "local"]
    status: str = "SCHEDULING"
    hardware: str = ""
    namespace: str = ""
    url: str = ""
    log_path: Path | None = None
    timeout_s: int = 1800
    # USD per hour from the estimator that priced the reservation; None: unknown (the reservation is charged).
    price_per_hour: float | None = 0.0
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    exit_code: int | None = None
    message: str = ""
    reattached: bool = False
    # Log lines the model has been shown by `logs` with a wait: the next one waits for lines after these.
    seen_lines: int = 0
    trackio_project: str = ""
    dashboard_url: str = ""
    trackio_dir: str = ""  # a local job's trackio store
    sink: LogSink | None = None
    task: asyncio.Task[None] | None = None
    process: LocalProcess | None = None
    follower: hf.LogFollower | None = None

    @property
    def done(self) -> bool:
        return self.status in hf.TERMINAL

    @property
    def runtime_s(self) -> float:
        return max(0.0, (self.finished_at or time.time()) - self.started_at)

    @property
    def cost_usd(self) -> float | None:
        if self.price_per_hour is None:
            return None
        return round(self.price_per_hour * self.runtime_s / 3600, 6)

    def summary(self) -> dict[str, Any]:
        out = {"job_id": self.job_id, "runtime": self.runtime, "status": self.status, "hardware": self.hardware,
               "url": self.url, "timeout_s": self.timeout_s, "runtime_s": round(self.runtime_s, 1),
               "log_lines": self.sink.total_lines if self.sink else None}
        if self.exit_code is not None:
            out["exit_code"] = self.exit_code
        if self.message:
            out["message"] = self.message
        if self.runtime == "hf":
            out["cost_usd_so_far"] = self.cost_usd
        return out
