"""`hf_jobs logs` with a wait: the lines of a job the model has not seen yet, as soon as there are any.

Following a running job this way costs one call per batch of new output instead of one call every few seconds;
a wait with nothing new comes back marked as polling, which the doom-loop guard does not count as repetition.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time

from ..registry import ToolError, ToolReturn
from .handle import JobHandle
from .logs import iter_file_lines, render_selection, select_lines
from .manager import JobManager

# The longest a `logs` call waits for new output: long enough to follow a job without a call every few seconds,
# short enough that Stop and the person's next prompt are never far away.
MAX_WAIT_S = 60


async def _wait_for_output(handle: JobHandle, seconds: float) -> bool:
    """True as soon as the job has lines the model has not seen, or has ended; False after `seconds` of neither."""
    deadline = time.monotonic() + seconds
    sink = handle.sink
    while True:
        if sink is not None:
            sink.grew.clear()  # before the check: lines fed after it set it again
        if handle.done or (sink is not None and sink.total_lines > handle.seen_lines):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if sink is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sink.grew.wait(), min(left, 0.5))
        else:
            await asyncio.sleep(min(left, 0.5))


async def follow_logs(manager: JobManager, job_id: str, tail: int | None, grep: str | None,
                      wait: int) -> str | ToolReturn:
    """`logs` with a wait: the lines after those already shown, as soon as there are any (or the job ended)."""
    handle = manager.handles.get(job_id)
    if handle is None or handle.log_path is None:
        raise ToolError(f"wait works for jobs of this session (see operation='ps'); {job_id!r} is not one: "
                        "call logs without wait")
    seconds = max(1, min(int(wait), MAX_WAIT_S))
    if not await _wait_for_output(handle, seconds):
        total = handle.sink.total_lines if handle.sink is not None else handle.seen_lines
        return ToolReturn(f"Job {job_id} is still {handle.status}: no new output in {seconds} s ({total} lines so "
                          "far). Wait again (wait=N), or work on something else and check back.", polling=True)
    seen = handle.seen_lines
    lines = iter_file_lines(handle.log_path) if handle.log_path.exists() else iter(())
    selected, scanned, matched = select_lines(itertools.islice(lines, seen, None), tail=tail, grep=grep)
    handle.seen_lines = seen + scanned
    source = f"status {handle.status}; new since the last wait; full log {handle.log_path}"
    return render_selection(job_id, selected, scanned, matched, grep=grep, source=source)
