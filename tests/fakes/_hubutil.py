"""Small helpers shared by the FakeHub modules."""

from __future__ import annotations

import hashlib
import itertools
import time
from datetime import UTC, datetime

_ids = itertools.count(1)


def object_id() -> str:
    """24-hex id like the Hub's Mongo ObjectIds (unique per process)."""
    return hashlib.sha1(f"{time.time_ns()}-{next(_ids)}".encode()).hexdigest()[:24]


def commit_sha() -> str:
    return hashlib.sha1(f"commit-{time.time_ns()}-{next(_ids)}".encode()).hexdigest()


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def iso(ts: float | None = None) -> str:
    """Hub datetime format: 2025-07-22T16:06:25.079Z."""
    dt = datetime.fromtimestamp(time.time() if ts is None else ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
