"""Follow a session's events live by tailing its `events.jsonl`, the log that is the session.

Why the log and not the kernel's `mlintern` comm: the log is written (and fsync'd) before anything it records
happens, so what the terminal shows is exactly what resume, export and the trace will see; it works the same
for a run, a resume and a kernel that dies (the lines written before the death are all there), and it needs
no second frontend protocol. What it lacks is the streamed text deltas, which a terminal line does not need.

A new run does not know its session id before the kernel creates it: the headless runner sends its `%%intern`
cell with a random cell id (as JupyterLab does, in the execute request's `metadata.cellId`), the prompt event
carries it, and the follower locks onto the one log whose new lines contain it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ..agent import events as ev
from ..agent.migrations import LogMigrator
from ..agent.store import decode_line, sessions_dir

# Lines kept per log while the run's session is not found yet (its start and settings come before the prompt).
MAX_PENDING_LINES = 1_000


class _Tail:
    """New complete lines of one file, from an offset on."""

    def __init__(self, path: Path, offset: int) -> None:
        self.path = path
        self.offset = offset
        self.partial = b""

    def lines(self) -> list[bytes]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return []
        self.offset += len(data)
        chunks = (self.partial + data).split(b"\n")
        self.partial = chunks.pop()  # an incomplete last line waits for its newline
        return [c for c in chunks if c.strip()]


class SessionFollower:
    """Yields the events a run adds to its session's log, in order. Give `session_id` to follow a known
    session from its current end, or `cell_id` to find the session whose prompt carries that cell id."""

    def __init__(self, home: Path | None = None, *, session_id: str | None = None, cell_id: str | None = None) -> None:
        self.root = sessions_dir(home)
        self.cell_marker = json.dumps(cell_id).encode() if cell_id else None
        self.session_id = session_id
        self._tails: dict[str, _Tail] = {}
        self._pending: dict[str, list[bytes]] = {}
        self._locked: _Tail | None = None
        self._backlog: list[bytes] = []
        self._migrator = LogMigrator()
        self.bad_lines = 0
        if session_id is not None:
            path = self.root / session_id / "events.jsonl"
            self._locked = _Tail(path, path.stat().st_size if path.exists() else 0)
        else:
            for path in self._logs():
                self._tails[path.parent.name] = _Tail(path, path.stat().st_size)

    def _logs(self) -> Iterator[Path]:
        if self.root.is_dir():
            for folder in self.root.iterdir():
                log = folder / "events.jsonl"
                if log.is_file():
                    yield log

    def _find(self) -> None:
        """Read what every log gained since the start; lock onto the one holding our prompt's cell id."""
        for path in self._logs():
            tail = self._tails.setdefault(path.parent.name, _Tail(path, 0))
            lines = self._pending.setdefault(path.parent.name, [])
            lines += tail.lines()
            # Another session busy meanwhile: only its lines before our prompt could matter, never many.
            del lines[:-MAX_PENDING_LINES]
            if self.cell_marker and any(self.cell_marker in line and b'"user_prompt"' in line for line in lines):
                self._locked, self.session_id = tail, path.parent.name
                self._backlog = lines
                self._pending.clear()
                return

    def poll(self) -> list[ev.Event]:
        """The events written since the last poll (none until the session is found)."""
        lines: list[bytes] = []
        if self._locked is None:
            self._find()
            lines, self._backlog = self._backlog, []
        if self._locked is None:
            return []
        lines = lines + self._locked.lines()
        events: list[ev.Event] = []
        for raw in lines:
            try:
                events.extend(decode_line(raw, self._migrator))
            except ev.EventDecodeError:
                self.bad_lines += 1  # reported by resume and export; the terminal view skips it
        return events
