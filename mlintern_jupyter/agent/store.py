"""Append-only JSONL event log: `$MLINTERN_HOME/sessions/<id>/events.jsonl`, the source of truth for resume.

Each event is redacted, written and fsync'd before the side effect it records happens. Every line carries the
schema version it was written with (``"v"``); the reader migrates older lines (``migrations.py``) and decodes
each strictly. It tolerates a torn last line (a crash in the middle of an append) and reports any other line it
cannot decode with its number and reason, replaying the rest; it never raises.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .events import Event, EventDecodeError, decode_event
from .migrations import SCHEMA_VERSION, LogMigrator

# Streamed text is rebuilt from assistant_message; writing every delta would fsync hundreds of times a turn.
EPHEMERAL_KINDS = frozenset({"assistant_delta", "retry_wait"})
# Job and tool output lines: flushed, not fsync'd one by one (a 200,000-line log would crawl); the job's own
# log file keeps the full text.
UNSYNCED_KINDS = frozenset({"tool_output", "job_metrics"})


def mlintern_home() -> Path:
    return Path(os.environ.get("MLINTERN_HOME") or Path.home() / ".mlintern").expanduser()


def sessions_dir(home: Path | None = None) -> Path:
    return (home or mlintern_home()) / "sessions"


def new_session_id() -> str:
    """A random UUID: trace readers key sessions (and name files) by it, some by its first 8 characters, so
    those must differ between sessions started in the same second (a time-ordered id would share them)."""
    return str(uuid.uuid4())


def session_name(session_id: str, started: datetime | None = None) -> str:
    """The readable short name shown by `%intern sessions`: local start time and the id's first 4 characters."""
    return (started or datetime.now()).strftime("%Y%m%d-%H%M%S-") + session_id.replace("-", "")[:4]


@dataclass
class LogReadResult:
    events: list[Event] = field(default_factory=list)
    # The bytes of an incomplete last line, if the writer died in the middle of an append.
    torn_tail: str | None = None
    # Lines that could not be decoded (not the last one): (line number, reason).
    bad_lines: list[tuple[int, str]] = field(default_factory=list)


_CURRENT_PREFIX = b'{"v":%d,' % SCHEMA_VERSION


def decode_line(raw: bytes, migrator: LogMigrator) -> list[Event]:
    """The events of one log line: current lines decode directly, older ones through their migrations."""
    if raw.startswith(_CURRENT_PREFIX):
        return [decode_event(b"{" + raw[len(_CURRENT_PREFIX):])]
    try:
        record = json.loads(raw)
    except ValueError as exc:
        raise EventDecodeError(f"not JSON: {exc}") from None
    return [decode_event(json.dumps(r)) for r in migrator.upgrade(record)]


def read_events(path: Path) -> LogReadResult:
    result = LogReadResult()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return result
    lines = data.split(b"\n")
    complete, last = lines[:-1], lines[-1]
    migrator = LogMigrator()
    for number, raw in enumerate(complete, start=1):
        if not raw.strip():
            continue
        try:
            # All of a line's events, or none of them: a migration's derived events never land alone.
            result.events.extend(decode_line(raw, migrator))
        except EventDecodeError as exc:
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
        line = json.dumps({"v": SCHEMA_VERSION, **data}, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self._file.write(line)
        self._file.flush()
        if data.get("kind") not in UNSYNCED_KINDS:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()


def _started_name(folder: Path) -> str:
    """The short name in a session's first log line (its session_started), or "" for older logs."""
    try:
        with open(folder / "events.jsonl", "rb") as handle:
            first = handle.readline()
        data = json.loads(first)
    except (OSError, ValueError):
        return ""
    return str(data.get("name") or "") if isinstance(data, dict) else ""


def resolve_session_id(ref: str, home: Path | None = None) -> str:
    """The id of the session `ref` names: its id (old-style ids too), its short name, or a unique id prefix
    of at least 8 characters. Raises FileNotFoundError saying why when none or several match."""
    root = sessions_dir(home)
    if ref and (root / ref / "events.jsonl").exists():
        return ref
    folders = [f for f in root.iterdir() if f.is_dir()] if root.is_dir() and ref else []
    matches = [f.name for f in folders if _started_name(f) == ref]
    if not matches and len(ref) >= 8:
        matches = [f.name for f in folders if f.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise FileNotFoundError(f"{ref!r} matches {len(matches)} sessions ({', '.join(sorted(matches)[:5])}): "
                                "give the full id")
    raise FileNotFoundError(f"no session {ref!r} under {root}")
