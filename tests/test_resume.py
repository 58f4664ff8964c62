"""Resume at the engine level: `list_sessions`, `Session.resume`, no job launched twice, approvals kept pending."""

from __future__ import annotations

import asyncio
import os
import time
from types import SimpleNamespace

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.models.offline import ScriptedModel
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.agent.sessions_index import list_sessions
from mlintern_jupyter.agent.store import read_events
from mlintern_jupyter.tools.registry import ToolRegistry
from tests.crash_driver import DIGEST, FULL_SCRIPT, SUMMARY, launches, make_tools, run_story


def resume(home, session_id="story", answers=("Resumed: nothing more to do.",) * 3) -> Session:
    return Session.resume(session_id, make_tools(), home=home, model=ScriptedModel(list(answers), name="scripted:r"))


def cut_log_after(session_dir, kind: str, occurrence: int = 1) -> int:
    """Simulate a crash: keep the log up to and including the n-th event of `kind`; returns its seq."""
    path = session_dir / "events.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    seen = 0
    for index, line in enumerate(lines):
        if f'"kind":"{kind}"'.encode() in line:
            seen += 1
            if seen == occurrence:
                path.write_bytes(b"".join(lines[: index + 1]))
                return index + 1
    raise AssertionError(f"no {kind} #{occurrence} in the log")


def test_resume_restores_transcript_plan_usage_budget_and_pending_approval(tmp_path):
    live = run_story(tmp_path)
    live.close()
    resumed = resume(tmp_path)

    assert resumed.transcript.messages == live.transcript.messages
    assert resumed.plan == live.plan and resumed.plan[0]["status"] == "completed"
    assert resumed.usage == live.usage and resumed.budget.cap_usd == 5.0
    assert resumed.budget.llm_spent_usd == live.budget.llm_spent_usd
    assert [r.nonce for r in resumed.approvals.pending()] == [r.nonce for r in live.approvals.pending()]
    assert len(resumed.approvals.pending()) == 1
    assert set(resumed.jobs) == {"job-1"} and resumed.torn_tail is None
    # The open call waiting for approval was not given an aborted result.
    assert resumed.transcript.open_tool_calls()[0].id == "call_job2"
    # The log replays whole; resuming with another model than the log's is itself recorded.
    assert [e.seq for e in resumed.events[: len(live.events)]] == [e.seq for e in live.events]
    assert [e.kind for e in resumed.events[len(live.events):]] == ["model_changed"]
    assert resumed.state.model == "scripted:r"
    # The kernel-history digest was compacted like any message: the summary replaced it, also on resume.
    texts = [getattr(m, "text", "") for m in resumed.transcript.messages]
    assert not any(DIGEST in t for t in texts)
    assert any(SUMMARY in t and '<data source="compaction summary">' in t for t in texts)
    assert any(DIGEST in e.kernel_digest for e in resumed.events if isinstance(e, ev.UserPrompt) and e.kernel_digest)
    resumed.close()


def test_resume_after_a_crash_following_job_updated_does_not_relaunch(tmp_path):
    live = run_story(tmp_path)
    live.close()
    cut_log_after(live.dir, "job_updated")
    assert launches(live.dir) == ["call_job1"]

    resumed = resume(tmp_path)
    assert resumed.jobs["job-1"].call_id == "call_job1" and resumed.jobs["job-1"].status == "RUNNING"
    aborted = [e for e in resumed.events if isinstance(e, ev.ToolResult) and e.status == "aborted"]
    assert [e.call_id for e in aborted] == ["call_job1"]
    end = asyncio.run(resumed.run_turn("how is the job doing?"))
    assert end.reason == "done"
    assert launches(live.dir) == ["call_job1"]
    # And once more, through a second resume of the resumed log.
    resumed.close()
    again = resume(tmp_path)
    asyncio.run(again.run_turn("still there?"))
    again.close()
    assert launches(live.dir) == ["call_job1"]


def test_resume_between_approval_and_launch_launches_nothing(tmp_path):
    live = run_story(tmp_path)
    live.close()
    cut_log_after(live.dir, "approval_resolved")
    # The log never saw the launch: the approved call ends aborted, never run after the restart.
    (live.dir / "launches.log").unlink()
    resumed = resume(tmp_path)
    asyncio.run(resumed.run_turn("go on"))
    resumed.close()
    assert launches(live.dir) == []
    assert any(isinstance(e, ev.ToolResult) and e.call_id == "call_job1" and e.status == "aborted"
               for e in resumed.events)


def test_pending_approval_survives_resume_and_runs_once_when_approved(tmp_path):
    live = run_story(tmp_path)
    live.close()
    resumed = resume(tmp_path)
    (record,) = resumed.approvals.pending()
    assert record.call_id == "call_job2" and record.spec.script == FULL_SCRIPT

    assert resumed.answer_approval(record.nonce, "approve") is True
    asyncio.run(resumed.run_turn(None))
    assert launches(resumed.dir) == ["call_job1", "call_job2"]
    assert resumed.answer_approval(record.nonce, "approve") is False  # a used nonce approves nothing
    resumed.close()

    again = resume(tmp_path)
    assert again.approvals.pending() == []
    assert again.transcript.open_tool_calls() == []
    asyncio.run(again.run_turn("anything else?"))
    again.close()
    assert launches(resumed.dir) == ["call_job1", "call_job2"]


def test_list_sessions_newest_first_with_state(tmp_path, monkeypatch):
    home = tmp_path
    story = run_story(home, "a-story")  # ends waiting for approval
    story.close()

    idle = Session(SessionConfig(model="m"), ToolRegistry(), model=ScriptedModel(["hi"], name="scripted:idle"),
                   session_id="b-idle", home=home)
    asyncio.run(idle.run_turn("say hi, with a long\n   prompt " + "x" * 300))
    idle.close()

    ended = Session(SessionConfig(model="m"), ToolRegistry(), model=ScriptedModel(["ok"], name="scripted:end"),
                    session_id="c-ended", home=home)
    asyncio.run(ended.run_turn("finish"))
    ended.emit(ev.SessionEnded(reason="closed"))
    ended.close()

    crashed = Session(SessionConfig(model="m"), ToolRegistry(), model=ScriptedModel([], name="scripted:crash"),
                      session_id="d-crashed", home=home)
    crashed.emit(ev.UserPrompt(text="this turn never ended"))
    crashed.close()
    with open(crashed.dir / "events.jsonl", "ab") as log:
        log.write(b'{"kind":"assistant_message","text":"half')  # torn tail
    old = time.time() - 3600
    os.utime(crashed.dir / "events.jsonl", (old, old))
    (home / "sessions" / "not-a-session").mkdir()

    summaries = list_sessions(home)
    assert [s.session_id for s in summaries] == ["d-crashed", "c-ended", "b-idle", "a-story"]
    by_id = {s.session_id: s for s in summaries}
    assert by_id["a-story"].state == "awaiting approval" and by_id["a-story"].pending_approvals == 1
    assert by_id["a-story"].first_prompt.startswith("fine-tune distilbert on imdb")
    assert "hf_StoryToken" not in by_id["a-story"].first_prompt
    assert by_id["a-story"].model == "scripted:story" and by_id["a-story"].running_jobs == 1
    assert by_id["b-idle"].state == "idle" and len(by_id["b-idle"].first_prompt) == 200
    assert "\n" not in by_id["b-idle"].first_prompt
    assert by_id["c-ended"].state == "ended"
    assert by_id["d-crashed"].state == "interrupted" and by_id["d-crashed"].torn_tail
    assert by_id["a-story"].cost_usd == 0.0 and by_id["a-story"].turns == 3

    # A live session of this kernel that is mid-turn says running.
    running = list_sessions(home, live={"b-idle": SimpleNamespace(running=True)})
    assert {s.session_id: s.state for s in running}["b-idle"] == "running"
    # Defaults to $MLINTERN_HOME.
    monkeypatch.setenv("MLINTERN_HOME", str(home))
    assert [s.session_id for s in list_sessions()] == [s.session_id for s in summaries]


def test_cost_includes_llm_and_jobs(tmp_path):
    session = Session(SessionConfig(model="m"), ToolRegistry(), model=ScriptedModel([], name="scripted:c"),
                      session_id="cost", home=tmp_path)
    session.emit(ev.UserPrompt(text="p"))
    session.emit(ev.Usage(prompt_tokens=10, cost_usd=0.25))
    session.emit(ev.JobUpdated(call_id="c", job_id="j", status="RUNNING", cost_usd=0.5))
    session.emit(ev.JobUpdated(call_id="c", job_id="j", status="COMPLETED", cost_usd=1.5))
    session.emit(ev.TurnEnded(reason="done"))
    session.close()
    (summary,) = list_sessions(tmp_path)
    assert summary.cost_usd == 1.75 and summary.running_jobs == 0 and summary.state == "idle"
    assert read_events(session.dir / "events.jsonl").torn_tail is None
