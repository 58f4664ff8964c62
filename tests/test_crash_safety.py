"""SIGKILL a scripted session at many points; resume must find every durable event, report a torn tail,
launch no job twice and keep pending approvals pending. The story and the kill points are in crash_driver.py."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.models.offline import ScriptedModel
from mlintern_jupyter.agent.session import Session
from mlintern_jupyter.agent.store import read_events
from mlintern_jupyter.agent.trace import trace_session_id
from tests.crash_driver import launches, make_tools

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / "tests" / "crash_driver.py"
POINTS = [
    "before:user_prompt:1",         # nothing but session_started is durable
    "after:user_prompt:1",          # the prompt is durable, no model call yet
    "torn:assistant_message:1",     # killed in the middle of an append
    "after:tool_call:2",            # calls recorded, none started
    "after:approval_requested:1",   # the auto approval was asked, not yet decided
    "after:approval_resolved:1",    # approved, not yet launched
    "after_launch:1",               # the job started, its job_updated never written
    "after:job_updated:1",          # the job is recorded as running, no tool_result
    "torn:tool_result:3",           # the job's result torn in half
    "before:compacted:1",           # during compaction: summary made, not durable
    "torn:compacted:1",             # during compaction: summary half written
    "after:compacted:1",            # compaction durable, next prompt not yet
    "after:approval_requested:2",   # a paid job waiting for a person
    "torn:turn_ended:3",            # the last turn's end torn
    "upload",                       # during the trace upload
]


def run_driver(home: Path, point: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(MLINTERN_CRASH_AT=point, PYTHONPATH=str(ROOT), MLINTERN_HOME=str(home))
    return subprocess.run([sys.executable, str(DRIVER), str(home), "crashy"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def pending_in_log(events: list[ev.Event]) -> set[str]:
    resolved = {e.nonce for e in events if isinstance(e, ev.ApprovalResolved)}
    answered = {e.call_id for e in events if isinstance(e, ev.ToolResult)}
    return {e.nonce for e in events if isinstance(e, ev.ApprovalRequested)
            and e.nonce not in resolved and e.call_id not in answered}


def test_the_story_completes_without_a_crash(tmp_path):
    proc = run_driver(tmp_path, "")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "STORY COMPLETE" in proc.stdout
    session_dir = tmp_path / "sessions" / "crashy"
    assert launches(session_dir) == ["call_job1"]
    assert json.loads((session_dir / "upload_state.json").read_text())["pending"] is False


@pytest.mark.parametrize("point", POINTS)
def test_resume_after_sigkill(tmp_path, point):
    proc = run_driver(tmp_path, point)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr[-3000:])
    assert "STORY COMPLETE" not in proc.stdout
    session_dir = tmp_path / "sessions" / "crashy"
    log = read_events(session_dir / "events.jsonl")
    durable = {int(line) for line in (session_dir / "durable.log").read_text().split()}
    launched_before = launches(session_dir)
    assert len(launched_before) == len(set(launched_before))

    session = Session.resume("crashy", make_tools(), home=tmp_path,
                             model=ScriptedModel(["Resumed, nothing to launch."] * 4, name="scripted:after"))

    # Every durable event is found, in order, with no gap.
    seqs = [e.seq for e in session.events[: len(log.events)]]
    assert durable <= set(seqs), sorted(durable - set(seqs))
    assert seqs == list(range(1, len(seqs) + 1))
    assert log.bad_lines == []
    # A torn append is reported, and only then.
    if point.startswith("torn:"):
        assert log.torn_tail and session.torn_tail == log.torn_tail
        assert (session_dir / "events.torn").read_text() == log.torn_tail
    else:
        assert log.torn_tail is None and session.torn_tail is None
    # Pending approvals stay pending (and nothing else is pending).
    assert {r.nonce for r in session.approvals.pending()} == pending_in_log(log.events)
    if point == "after:approval_requested:2":
        assert len(session.approvals.pending()) == 1
    # Calls cut off without a pending approval were closed with an aborted result, not run again.
    waiting = {r.call_id for r in session.approvals.pending()}
    assert {c.id for c in session.transcript.open_tool_calls()} <= waiting
    assert launches(session_dir) == launched_before
    if point == "upload":
        state = json.loads((session_dir / "upload_state.json").read_text())
        assert state["pending"] is True
        trace = (session_dir / "trace.jsonl").read_text().splitlines()
        assert trace and all(json.loads(line)["sessionId"] == trace_session_id("crashy") for line in trace)

    # The session goes on: a new turn launches nothing, and the log stays contiguous across the restart.
    end = asyncio.run(session.run_turn("what is the state of things?"))
    assert end.reason == "done"
    assert launches(session_dir) == launched_before
    session.close()
    again = read_events(session_dir / "events.jsonl")
    assert again.torn_tail is None
    assert [e.seq for e in again.events] == list(range(1, len(again.events) + 1))
