"""Named migrations of the event log, so a log written by an older version resumes (simonw/llm's pattern).

Each line of ``events.jsonl`` carries the schema version it was written with (``"v"``; lines without one are
version 1, the format before versions existed). Reading a line runs it through every migration newer than its
version, in order; a migration may turn one record into several (derived events get the source's seq). Logs
are never rewritten: the migration runs on every read, so an old log stays byte-for-byte what was written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .events import JOB_TERMINAL_STATUSES, EventDecodeError

SCHEMA_VERSION = 2
Record = dict[str, Any]


@dataclass
class MigrationContext:
    """What a migration remembers across the lines of one log."""

    costs: dict[str, float] = field(default_factory=dict)  # call id -> worst case asked for approval
    approved: set[str] = field(default_factory=set)
    reserved: set[str] = field(default_factory=set)


def v2_compute_ledger(record: Record, ctx: MigrationContext) -> list[Record]:
    """v1 -> v2: version 1 kept compute reservations and settlements in memory only, so a resumed session
    forgot them (a running job's cost was never counted). Rebuild them as v1 made them: a call approved with
    a known cost reserved it when it started, a failed call released it, a job's end settled its final cost."""
    kind, call_id = record.get("kind"), record.get("call_id")
    base: Record = {k: record[k] for k in ("session_id", "seq", "ts") if k in record}
    if not isinstance(call_id, str):
        return [record]
    if kind == "approval_requested" and isinstance(record.get("cost_usd"), int | float):
        ctx.costs[call_id] = float(record["cost_usd"])
    elif kind == "approval_resolved" and record.get("decision") == "approved":
        ctx.approved.add(call_id)
    elif kind == "tool_started" and call_id in ctx.approved and ctx.costs.get(call_id, 0.0) > 0:
        ctx.approved.discard(call_id)
        ctx.reserved.add(call_id)
        return [{**base, "kind": "compute_reserved", "call_id": call_id, "amount_usd": ctx.costs[call_id]}, record]
    elif kind == "tool_result" and record.get("ok") is False and call_id in ctx.reserved:
        ctx.reserved.discard(call_id)
        return [record, {**base, "kind": "compute_released", "call_id": call_id, "reason": "the call failed"}]
    elif (kind == "job_updated" and call_id in ctx.reserved
          and str(record.get("status", "")).upper() in JOB_TERMINAL_STATUSES):
        ctx.reserved.discard(call_id)
        cost = record.get("cost_usd")
        return [record, {**base, "kind": "compute_settled", "call_id": call_id, "job_id": str(record.get("job_id", "")),
                         "cost_usd": float(cost) if isinstance(cost, int | float) else 0.0}]
    return [record]


# (version the migration produces, migration); applied in order to records older than that version.
MIGRATIONS: list[tuple[int, Callable[[Record, MigrationContext], list[Record]]]] = [
    (2, v2_compute_ledger),
]


class LogMigrator:
    """Upgrades the records of one log, line by line, to SCHEMA_VERSION."""

    def __init__(self) -> None:
        self.context = MigrationContext()

    def upgrade(self, record: Any) -> list[Record]:
        if not isinstance(record, dict):
            raise EventDecodeError("a log line must be a JSON object")
        record = dict(record)
        version = record.pop("v", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise EventDecodeError(f"bad schema version {version!r}")
        if version > SCHEMA_VERSION:
            raise EventDecodeError(f"written with schema version {version}, newer than this mlintern-jupyter "
                                   f"understands ({SCHEMA_VERSION}): upgrade the package to read it")
        records = [record]
        for target, migration in MIGRATIONS:
            if version < target:
                records = [out for r in records for out in migration(r, self.context)]
        return records
