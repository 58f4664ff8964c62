"""A job's log: the whole text on disk, a small ring in memory, and batched ToolOutput chunks for the cards.

A job may print hundreds of thousands of lines. Memory stays bounded (the ring and one pending chunk), the
event log gets a few chunks a second instead of one event per line, and the model only ever sees what it asks
for with `hf_jobs logs` (tail N, grep), capped.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .metrics import metric_points

RING_LINES = 2_000
# One streamed chunk at most this big; a flood between two flushes is summarised, the file keeps everything.
CHUNK_CHARS = 16_000
STREAM_LINE_CHARS = 4_000
FLUSH_INTERVAL_S = 0.2
# What a `logs` answer may put in the model's context.
RESULT_LINES = 200
RESULT_LINE_CHARS = 500
RESULT_CHARS = 12_000


class LogSink:
    """Receives lines (on the event loop thread), keeps them on disk and streams them in chunks."""

    def __init__(self, path: Path, emit_chunk: Callable[[str], None], *, write_file: bool = True,
                 emit_metrics: Callable[[list[dict[str, float]]], None] | None = None) -> None:
        self.path = path
        self.emit_chunk = emit_chunk
        # Numbers parsed from the streamed lines, sent after their chunk (the cards' and the panel's plots).
        self.emit_metrics = emit_metrics
        self.ring: deque[str] = deque(maxlen=RING_LINES)
        self.total_lines = 0
        self._pending: list[str] = []
        self._pending_chars = 0
        self._skipped = 0
        self._file = path.open("a", encoding="utf-8") if write_file else None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        # Set whenever lines arrive: `hf_jobs logs` with a wait returns as soon as there is something new.
        self.grew = asyncio.Event()

    def feed(self, lines: Iterable[str]) -> None:
        first = self.total_lines == 0
        before = self.total_lines
        for line in lines:
            self.total_lines += 1
            self.ring.append(line)
            if self._file is not None:
                self._file.write(line + "\n")
            if self._pending_chars + len(line) > CHUNK_CHARS:
                self._skipped += 1
                continue
            shown = line if len(line) <= STREAM_LINE_CHARS else line[:STREAM_LINE_CHARS] + " ..."
            self._pending.append(shown)
            self._pending_chars += len(shown) + 1
        if self.total_lines > before:
            self.grew.set()
        if first and self.total_lines:
            self.flush()  # the first line shows at once; the rest follows in batches
        elif self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        try:
            await asyncio.sleep(FLUSH_INTERVAL_S)
        finally:
            self._task = None
            self.flush()

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
        if not self._pending and not self._skipped:
            return
        lines = self._pending
        text = "\n".join(lines)
        if self._skipped:
            text += f"\n[... {self._skipped} more lines not streamed; the full log is in {self.path}]"
        self._pending, self._pending_chars, self._skipped = [], 0, 0
        self.emit_chunk(text + "\n")
        points = metric_points(lines) if self.emit_metrics is not None else []
        if points and self.emit_metrics is not None:
            self.emit_metrics(points)

    def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None


def _cap_line(line: str) -> str:
    return line if len(line) <= RESULT_LINE_CHARS else line[:RESULT_LINE_CHARS] + " ..."


def iter_file_lines(path: Path) -> Iterator[str]:
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            yield line.rstrip("\n")


def select_lines(lines: Iterable[str], *, tail: int | None = None, grep: str | None = None) -> tuple[list[str], int, int]:
    """Tail and/or grep over a stream of lines in bounded memory.

    Returns (selected lines, lines scanned, lines matched). `grep` is a regular expression (case-insensitive);
    an invalid one is matched as plain text.
    """
    limit = max(1, min(tail or RESULT_LINES, RESULT_LINES))
    pattern = None
    if grep:
        try:
            pattern = re.compile(grep, re.IGNORECASE)
        except re.error:
            pattern = re.compile(re.escape(grep), re.IGNORECASE)
    kept: deque[str] = deque(maxlen=limit)
    scanned = matched = 0
    for line in lines:
        scanned += 1
        if pattern is not None and not pattern.search(line):
            continue
        matched += 1
        kept.append(_cap_line(line))
    return list(kept), scanned, matched


def render_selection(job_id: str, selected: list[str], scanned: int, matched: int, *, grep: str | None,
                     source: str) -> str:
    what = f"lines matching {grep!r}" if grep else "lines"
    header = f"Job {job_id}: last {len(selected)} of {matched} {what} ({scanned} lines in the log; {source})"
    body = "\n".join(selected)
    if len(body) > RESULT_CHARS:
        body = "[... earlier lines cut ...]\n" + body[-RESULT_CHARS:]
    return f"{header}\n{body}" if body else f"{header}\n(no lines)"
