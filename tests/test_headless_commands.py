"""The same commands without a kernel (what the `mlintern` console script builds on): answer an approval left by
a --wait turn, continue it, list, export, refuse what needs a notebook, and never touch a session live elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

from mlintern_jupyter.agent.models import ScriptedModel
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.control import commands as c
from mlintern_jupyter.control.headless import headless_dispatcher
from mlintern_jupyter.tools.registry import Tool, ToolRegistry
from tests.test_tools_support import run

RAN: list[str] = []


async def risky(script: str) -> str:
    """Run a script (needs approval: not a known read-only tool)."""
    RAN.append(script)
    return "ran " + script


def tools() -> ToolRegistry:
    return ToolRegistry([Tool.from_function(risky)])


def awaiting_session(home: Path, model_file: Path) -> tuple[str, str]:
    """A --wait turn that ended waiting for a person, its kernel gone."""
    model_file.write_text(json.dumps([{"text": "", "tool_calls": [{"name": "risky", "arguments": {"script": "go"}}]},
                                      "all done"]))
    config = SessionConfig(model=f"scripted:{model_file}", person_present=False)
    session = Session(config, tools(), model=ScriptedModel.from_spec(f"scripted:{model_file}"), home=home)
    end = run(session.run_turn("run it"))
    assert end.reason == "awaiting_approval"
    nonce = session.approvals.pending()[0].nonce
    session.close()
    return session.id, nonce


def test_answer_and_continue_a_session_left_waiting_without_a_kernel(tmp_path) -> None:
    RAN.clear()
    home = tmp_path / "home"
    session_id, nonce = awaiting_session(home, tmp_path / "m.json")
    (tmp_path / "m.json").write_text(json.dumps(["all done"]))  # the rest of the script, for the continuation
    send = headless_dispatcher(home, tools=tools, continue_turns=True)
    assert send(c.Approve(nonce=nonce)).message == f"No approval {nonce!r} in this session."  # nothing open yet
    opened = send(c.Resume(session_id=session_id))
    assert opened.ok, opened.message
    assert opened.data == {"session_id": session_id, "pending": [nonce]}
    reply = send(c.Approve(nonce=nonce))
    assert reply.ok and reply.message == "Approved. The agent continues."
    assert RAN == ["go"]
    events = send.session.events
    assert [e.reason for e in events if e.kind == "turn_ended"] == ["awaiting_approval", "done"]
    assert send(c.Deny(nonce=nonce)).message == "That approval is already approved."


def test_records_work_and_notebook_only_commands_say_so(tmp_path) -> None:
    home = tmp_path / "home"
    session_id, _ = awaiting_session(home, tmp_path / "m.json")
    send = headless_dispatcher(home, tools=tools)
    rows = send(c.Sessions()).data["sessions"]
    assert [r["session_id"] for r in rows] == [session_id]
    exported = send(c.Export(path=str(tmp_path / "x.ipynb"), session_id=session_id))
    assert exported.ok and (tmp_path / "x.ipynb").exists()
    assert send(c.Stop()).message == "Nothing is running."
    assert send({"type": "set_budget", "usd": -1}).message == "budget must be at least 0 (got -1)"
    assert send({"type": "set_budget", "usd": 3}).message == "The next session's budget is $3.00."
    assert not send(c.CancelJob(job_id="local-1")).ok


def test_a_session_whose_turn_is_open_and_fresh_is_not_opened_behind_its_kernel(tmp_path) -> None:
    from mlintern_jupyter.agent import events as ev

    home = tmp_path / "home"
    session = Session(SessionConfig(model="scripted:echo"), tools(), home=home)
    session.emit(ev.UserPrompt(text="a turn still running in some kernel"))
    session.close()
    reply = headless_dispatcher(home, tools=tools)(c.Resume(session_id=session.id))
    assert not reply.ok and "is running in a kernel" in reply.message
