"""One approval path, and state that survives a restart because it is a fold of the log.

Answers given while no turn runs (after --wait) are recorded at once; a restart in that window keeps them;
the continuation takes each call through the same gate, so a person's denial reaches the model as denied with
their feedback, an edited script runs as edited, and "approve for this session" stays approved. The compute
ledger (reservations, settlements) and settings come back from the log, including a log written by the
version before schema versions (tests/fixtures/v1_log, written by main at 4994741)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.messages import ToolResultMessage
from mlintern_jupyter.agent.models import ScriptedModel
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.agent.store import read_events
from mlintern_jupyter.agent.tooling import SessionServices, ToolContext
from mlintern_jupyter.tools.registry import ToolRegistry, tool

FIXTURE = Path(__file__).parent / "fixtures" / "v1_log" / "events.jsonl"


def tools(ran: list[str]) -> ToolRegistry:
    @tool
    async def risky(script: str, ctx: ToolContext) -> str:
        """Run a script (an external tool: a person approves it)."""
        ran.append(script)
        return f"ran {script}"

    @tool(name="bash")
    async def bash(command: str) -> str:
        """Run a shell command."""
        ran.append(command)
        return f"$ {command}"

    @tool(name="hf_jobs")
    async def hf_jobs(operation: str, hardware_flavor: str, timeout: str, ctx: ToolContext) -> str:
        """Launch a paid job (stand-in)."""
        ran.append(ctx.call_id)
        return "launched"

    return ToolRegistry([risky, bash, hf_jobs])


def call(name: str, call_id: str = "c1", **arguments: object) -> dict:
    return {"tool_calls": [{"id": call_id, "name": name, "arguments": arguments}]}


def waited_session(home: Path, ran: list[str], first: dict, answers: list) -> Session:
    """A turn under --wait that ends waiting for a person."""
    session = Session(SessionConfig(model="scripted", approve_mode="ask", person_present=False), tools(ran),
                      model=ScriptedModel([first, *answers]), home=home, session_id="waited")
    end = asyncio.run(session.run_turn("do the risky thing"))
    assert end.reason == "awaiting_approval" and len(session.approvals.pending()) == 1
    return session


def resume(home: Path, ran: list[str], answers: list, session_id: str = "waited") -> Session:
    return Session.resume(session_id, tools(ran), home=home, model=ScriptedModel(answers))


def logged(session: Session, cls: type) -> list:
    return [e for e in read_events(session.dir / "events.jsonl").events if isinstance(e, cls)]


def test_a_denial_after_wait_is_recorded_at_once_and_reaches_the_model_with_the_feedback(tmp_path: Path) -> None:
    ran: list[str] = []
    session = waited_session(tmp_path, ran, call("risky", script="rm -rf data"), ["understood, I will not"])
    (record,) = session.approvals.pending()
    assert session.deny(record.nonce, "never delete the data") is True
    # Durable before anything else happens (no turn runs): a restart now cannot make it pending again.
    (resolved,) = logged(session, ev.ApprovalResolved)
    assert (resolved.decision, resolved.by, resolved.feedback) == ("denied", "person", "never delete the data")
    assert session.ready_to_continue()

    end = asyncio.run(session.run_turn(None))
    assert end.reason == "done" and ran == []
    (result,) = [e for e in session.events if isinstance(e, ev.ToolResult)]
    assert result.status == "denied" and "never delete the data" in result.content
    # The model's next request carried the denial and the feedback.
    seen = [m for m in session.model.requests[-1] if isinstance(m, ToolResultMessage)]  # type: ignore[attr-defined]
    assert seen[-1].call_id == "c1" and "never delete the data" in seen[-1].content and not seen[-1].ok
    session.close()


def test_an_answer_given_before_a_restart_stays_answered_and_runs_once(tmp_path: Path) -> None:
    ran: list[str] = []
    session = waited_session(tmp_path, ran, call("risky", script="train.py"), [])
    (record,) = session.approvals.pending()
    session.approve(record.nonce)
    session.close()  # the kernel dies before the continuation ran

    resumed = resume(tmp_path, ran, ["done"])
    assert resumed.approvals.pending() == [] and resumed.ready_to_continue()
    assert [c.id for c in resumed.transcript.open_tool_calls()] == ["c1"]
    asyncio.run(resumed.run_turn(None))
    assert ran == ["train.py"]
    assert resumed.approvals.records[record.nonce].used
    resumed.close()

    again = resume(tmp_path, ran, ["still done"])
    assert not again.ready_to_continue() and again.transcript.open_tool_calls() == []
    asyncio.run(again.run_turn("anything else?"))
    assert ran == ["train.py"]  # never twice under one approval
    again.close()


def test_a_denial_given_after_a_restart_reaches_the_model_as_denied(tmp_path: Path) -> None:
    ran: list[str] = []
    waited_session(tmp_path, ran, call("risky", script="rm -rf data"), []).close()
    resumed = resume(tmp_path, ran, ["ok, not doing it"])
    (record,) = resumed.approvals.pending()
    assert resumed.deny(record.nonce, "keep the data") and resumed.ready_to_continue()
    asyncio.run(resumed.run_turn(None))
    result = next(e for e in resumed.events if isinstance(e, ev.ToolResult))
    assert result.status == "denied" and "keep the data" in result.content and ran == []
    resumed.close()


def test_an_edited_script_approved_before_a_restart_runs_as_edited(tmp_path: Path) -> None:
    ran: list[str] = []
    session = waited_session(tmp_path, ran, call("risky", script="print('model')"), [])
    (record,) = session.approvals.pending()
    assert session.approve(record.nonce, script="print('person')")
    (resolved,) = logged(session, ev.ApprovalResolved)
    assert resolved.edited_script == "print('person')" and resolved.edited_sha256
    session.close()
    resumed = resume(tmp_path, ran, ["done"])
    asyncio.run(resumed.run_turn(None))
    assert ran == ["print('person')"]
    resumed.close()


def test_approve_for_the_session_survives_a_restart(tmp_path: Path) -> None:
    ran: list[str] = []
    session = waited_session(tmp_path, ran, call("bash", command="head -n 5 train.csv"), [])
    (record,) = session.approvals.pending()
    assert session.approve(record.nonce, for_session=True)
    session.close()
    resumed = resume(tmp_path, ran, ["ran it", call("bash", "c2", command="head -n 20 valid.csv"),
                                     "again, no question"])
    assert resumed.state.bash_allow == {"head -n <arg> <arg>"}
    asyncio.run(resumed.run_turn(None))
    asyncio.run(resumed.run_turn("look again"))
    assert ran == ["head -n 5 train.csv", "head -n 20 valid.csv"]
    assert not any(e.call_id == "c2" for e in resumed.events if isinstance(e, ev.ApprovalRequested))
    resumed.close()


def test_settings_changes_are_events_and_survive_resume(tmp_path: Path) -> None:
    session = Session(SessionConfig(model="scripted"), ToolRegistry(), model=ScriptedModel([]), home=tmp_path,
                      session_id="settings")
    session.set_approve_mode("auto")
    session.set_effort("high")
    session.set_max_iterations(12)
    session.set_trace_mode("off")
    session.set_budget(3.5)
    session.close()
    kinds = [e.kind for e in read_events(session.dir / "events.jsonl").events]
    assert {"approve_mode_changed", "effort_changed", "max_iterations_changed", "trace_mode_changed",
            "budget_updated"} <= set(kinds)
    resumed = Session.resume("settings", ToolRegistry(), home=tmp_path, model=ScriptedModel([]))
    state = resumed.state
    assert (state.approve_mode, state.reasoning_effort, state.max_iterations, state.trace_mode) == \
        ("auto", "high", 12, "off")
    assert resumed.budget.cap_usd == 3.5
    resumed.close()


def test_compute_reservations_and_settlements_survive_resume(tmp_path: Path) -> None:
    ran: list[str] = []
    job = {"operation": "run", "hardware_flavor": "a10g-small", "timeout": "1h"}
    script = [{"tool_calls": [{"id": "a", "name": "hf_jobs", "arguments": job},
                              {"id": "b", "name": "hf_jobs", "arguments": job}]}, "launched both"]
    session = Session(SessionConfig(model="scripted", approve_mode="auto", budget_usd=10.0), tools(ran),
                      model=ScriptedModel(script), home=tmp_path, session_id="ledger",
                      services=SessionServices(cost_estimator=lambda spec: 2.75))
    session.allow_hf_token_jobs()
    asyncio.run(session.run_turn("launch two"))
    session.settle_compute("a", "job-a", 1.25)  # job a ended (its watcher settles); job b still runs
    live = (session.budget.compute_spent_usd, dict(session.budget.reservations), session.budget.committed_usd)
    assert live[:2] == (1.25, {"b": 2.75})
    session.close()

    resumed = Session.resume("ledger", tools(ran), home=tmp_path, model=ScriptedModel([]))
    assert (resumed.budget.compute_spent_usd, dict(resumed.budget.reservations), resumed.budget.committed_usd) == live
    resumed.settle_compute("b", "job-b", 2.0)  # the re-attached job ends after the restart: it still counts
    assert resumed.budget.compute_spent_usd == 3.25 and resumed.budget.reservations == {}
    resumed.close()


def test_a_log_written_before_schema_versions_resumes_with_its_ledger(tmp_path: Path) -> None:
    """Written by main at 4994741: a settled job ($0.75), a running one ($1.50 reserved), a pending approval.
    Main itself resumed it with $0.00 spent and nothing reserved; the v2 migration rebuilds the ledger."""
    folder = tmp_path / "sessions" / "20261130-101500-v1a2b3"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURE, folder / "events.jsonl")
    assert '"v":' not in FIXTURE.read_text()
    resumed = Session.resume("20261130-101500-v1a2b3", tools([]), home=tmp_path, model=ScriptedModel(["ok"]))
    assert resumed.bad_records == []
    budget = resumed.budget
    assert (budget.cap_usd, budget.compute_spent_usd, budget.reservations) == (10.0, 0.75, {"call_b": 1.5})
    assert [r.call_id for r in resumed.approvals.pending()] == ["call_c"]
    assert resumed.plan and resumed.plan[0]["status"] == "completed"
    # New events are appended in the current schema, after the old lines, and the whole log reads back.
    asyncio.run(resumed.run_turn("how are the jobs?"))
    resumed.close()
    lines = (folder / "events.jsonl").read_text().splitlines()
    assert lines[-1].startswith('{"v":2,')
    log = read_events(folder / "events.jsonl")
    assert log.bad_lines == [] and log.torn_tail is None


def test_malformed_and_unknown_records_are_reported_and_the_rest_replays(tmp_path: Path) -> None:
    session = Session(SessionConfig(model="scripted"), ToolRegistry(), model=ScriptedModel(["hi", "again"]),
                      home=tmp_path, session_id="bad")
    asyncio.run(session.run_turn("hello"))
    session.close()
    path = session.dir / "events.jsonl"
    lines = path.read_text().splitlines()
    lines.insert(3, '{"v":2,"kind":"usage","prompt_tokens":"12"}')
    lines.insert(5, '{"v":2,"kind":"launch_missiles","target":"moon"}')
    lines.insert(6, '{"v":9,"kind":"notice","message":"from the future"}')
    path.write_text("\n".join(lines) + "\n")

    resumed = Session.resume("bad", ToolRegistry(), home=tmp_path, model=ScriptedModel(["fine"]))
    assert [r.split(":")[0] for r in resumed.bad_records] == ["line 4", "line 6", "line 7"]
    assert "prompt_tokens" in resumed.bad_records[0] and "unknown event kind 'launch_missiles'" in resumed.bad_records[1]
    assert "newer" in resumed.bad_records[2]
    notice = resumed.events[-1]
    assert isinstance(notice, ev.Notice) and notice.level == "warning" and "line 4" in notice.message
    # Nothing of the bad records was applied; everything else was.
    assert resumed.usage == session.usage and resumed.transcript == session.transcript
    resumed.close()
