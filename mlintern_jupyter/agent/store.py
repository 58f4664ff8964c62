"""Append-only JSONL event log: `$MLINTERN_HOME/sessions/<id>/events.jsonl`, the source of truth for resume.

Each event is redacted, written and fsync'd before the side effect it records happens. The reader tolerates a
torn last line (a crash in the middle of an append): it reports it and never raises.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .events import Event, EventDecodeError, event_from_dict

# Streamed text is rebuilt from assistant_message; writing every delta would fsync hundreds of times a turn.
EPHEMERAL_KINDS = frozenset({"assistant_delta", "retry_wait"})
# Job and tool output lines: flushed, not fsync'd one by one (a 200,000-line log would crawl); the job's own
# log file keeps the full text.
UNSYNCED_KINDS = frozenset({"tool_output"})


def mlintern_home() -> Path:
    return Path(os.environ.get("MLINTERN_HOME") or Path.home() / ".mlintern").expanduser()


def sessions_dir(home: Path | None = None) -> Path:
    return (home or mlintern_home()) / "sessions"


def new_session_id() -> str:
    """Sortable by start time, unique without coordination."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


@dataclass
class LogReadResult:
    events: list[Event] = field(default_factory=list)
    # The bytes of an incomplete last line, if the writer died in the middle of an append.
    torn_tail: str | None = None
    # Lines that could not be decoded (not the last one): (line number, reason).
    bad_lines: list[tuple[int, str]] = field(default_factory=list)


def read_events(path: Path) -> LogReadResult:
    result = LogReadResult()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return result
    lines = data.split(b"\n")
    complete, last = lines[:-1], lines[-1]
    for number, raw in enumerate(complete, start=1):
        if not raw.strip():
            continue
        try:
            result.events.append(event_from_dict(json.loads(raw)))
        except (ValueError, EventDecodeError) as exc:
            if number == len(complete) and not last:
                # A last line that ends in a newline but does not parse: treat like a torn tail.
                result.torn_tail = raw.decode("utf-8", "replace")
            else:
                result.bad_lines.append((number, str(exc)[:200]))
    if last.strip():
        result.torn_tail = last.decode("utf-8", "replace")
    return result


class EventStore:
    """Writes one session's events. `redact` maps an event's dict to its redacted form and may raise:
    then nothing is written (fail closed) and the error reaches the caller."""

    def __init__(self, path: Path, redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.path = path
        self.redact = redact
        path.parent.mkdir(parents=True, exist_ok=True)
        self.torn_tail = self._cut_torn_tail()
        self._file = open(path, "ab")  # noqa: SIM115 - held open for the session's life

    def _cut_torn_tail(self) -> str | None:
        """Move an incomplete last line aside so new events start on a line of their own."""
        if not self.path.exists():
            return None
        with open(self.path, "rb+") as handle:
            data = handle.read()
            if not data or data.endswith(b"\n"):
                return None
            cut = data.rfind(b"\n") + 1
            torn = data[cut:]
            (self.path.parent / "events.torn").write_bytes(torn)
            handle.truncate(cut)
            return torn.decode("utf-8", "replace")

    def prepare(self, event: Event) -> dict[str, Any]:
        data = event.to_dict()
        return self.redact(data) if self.redact else data

    def append(self, data: dict[str, Any]) -> None:
        if data.get("kind") in EPHEMERAL_KINDS:
            return
        line = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self._file.write(line)
        self._file.flush()
        if data.get("kind") not in UNSYNCED_KINDS:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
