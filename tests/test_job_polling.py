"""Polling without looping (issue 13 item 5): `hf_jobs logs` with a wait returns as soon as the job prints or
ends; a quiet stretch is a polling result, which the doom-loop guard does not count as repetition."""

from __future__ import annotations

import time

from mlintern_jupyter.agent.guards import CallRecord, LoopGuards
from mlintern_jupyter.tools.config import ToolsConfig
from mlintern_jupyter.tools.jobs import make_hf_jobs
from tests.test_tools_support import Collector, run, run_tool

LOCAL = ToolsConfig(hf_token="", runtime="local")
# Quiet for a while, then three lines a moment apart, then done.
SCRIPT = ["bash", "-c", "sleep 1.5; echo one; sleep 0.3; echo two; echo three; sleep 0.5"]


def test_logs_with_a_wait_returns_when_the_job_prints_then_only_new_lines_then_at_its_end(tmp_path) -> None:
    tool = make_hf_jobs(LOCAL)
    collector = Collector(tmp_path / "workspace")

    async def go():
        started = await run_tool(tool, collector.ctx, operation="run", command=SCRIPT, timeout=60)
        job_id = started.content.split()[2]
        t0 = time.monotonic()
        quiet = await run_tool(tool, collector.ctx, operation="logs", job_id=job_id, wait=1)
        quiet_took = time.monotonic() - t0
        t1 = time.monotonic()
        first = await run_tool(tool, collector.ctx, operation="logs", job_id=job_id, wait=30)
        first_took = time.monotonic() - t1
        rest = [await run_tool(tool, collector.ctx, operation="logs", job_id=job_id, wait=30) for _ in range(3)]
        return quiet, quiet_took, first, first_took, rest

    quiet, quiet_took, first, first_took, rest = run(go())
    assert quiet.polling and "no new output in 1 s" in quiet.content and "still RUNNING" in quiet.content
    assert 0.9 < quiet_took < 5
    # It returned when `one` came, long before its 30 s were up.
    assert not first.polling and first.content.splitlines()[1:] == ["one"] and first_took < 10
    shown = [line for r in rest for line in r.content.splitlines()[1:] if line in ("one", "two", "three")]
    assert shown == ["two", "three"]  # each line once: a wait shows only what was not seen
    assert "status COMPLETED" in rest[-1].content and not rest[-1].polling


def test_wait_is_capped_and_refused_for_jobs_of_other_sessions(tmp_path) -> None:
    tool = make_hf_jobs(LOCAL)
    collector = Collector(tmp_path / "workspace")
    assert "wait" in tool.schema()["parameters"]["properties"]

    async def go():
        try:
            await run_tool(tool, collector.ctx, operation="logs", job_id="local-nope", wait=5)
        except Exception as exc:  # noqa: BLE001 - the ToolError the model would read
            return str(exc)
        return ""

    assert "no local job" in run(go()) or "jobs of this session" in run(go())


def _poll(result: str, polling: bool) -> CallRecord:
    return CallRecord("hf_jobs", {"operation": "logs", "job_id": "j1", "wait": 30}, result, True, "ok", polling=polling)


def test_the_guard_treats_a_quiet_running_job_as_polling_not_repetition() -> None:
    guards = LoopGuards()
    quiet = "Job j1 is still RUNNING: no new output in 30 s (12 lines so far)."
    fired = [m.guard for _ in range(10) for m in guards.after_batch([_poll(quiet, polling=True)])]
    assert fired == []
    # The same text from a call that is not a poll (the tool did not say so) is repetition, as before.
    fired = [m.guard for _ in range(3) for m in guards.after_batch([_poll(quiet, polling=False)])]
    assert fired == ["doom_loop"]
