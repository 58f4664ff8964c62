"""The `mlintern` command without a kernel: bad input (one line, exit 64, nothing written) and the session
actions, which send the magics' typed commands to the same dispatcher."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.migrations import SCHEMA_VERSION
from mlintern_jupyter.agent.models.offline import ScriptedModel
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.agent.store import read_events, sessions_dir
from mlintern_jupyter.cli import main
from mlintern_jupyter.tools.registry import Tool, ToolRegistry

from .helpers import call


async def launch(script: str) -> str:
    """Run a script (needs approval)."""
    return "launched"


def waiting_session() -> Session:
    """A turn that ended waiting for a person, as `mlintern run` in ask mode leaves it."""
    model = ScriptedModel([{"tool_calls": [call("launch", {"script": "train()"})]}, "finished"])
    session = Session(SessionConfig(model=model.name, person_present=False), ToolRegistry([Tool.from_function(launch)]),
                      model=model)
    asyncio.run(session.run_turn("train it"))
    session.close()
    return session


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("argv, says", [
    (["run"], "no prompt"),
    (["run", "   "], "no prompt"),
    (["run", "hi", "--notebook", "nope.ipynb"], "no notebook at nope.ipynb"),
    (["resume", "nosuchsession"], "no session 'nosuchsession'"),
    (["approve", "nosuchsession", "nonce"], "no session 'nosuchsession'"),
    (["export", "nosuchsession", "out.ipynb"], "no session 'nosuchsession'"),
    (["upload", "nosuchsession"], "no session 'nosuchsession'"),
    (["traces", "off", "nosuchsession"], "no session 'nosuchsession'"),
    (["run", "hi", "--budget", "lots"], "invalid float value"),
    (["frobnicate"], "invalid choice"),
    (["sft", "build", "--out", "x.csv"], "cannot tell the format"),
    (["run", "hi", "--kernel", "nosuchkernel"], "no kernel named 'nosuchkernel'"),
    (["run", "hi", "--out", "nodir/x.ipynb"], "no folder nodir"),
])
def test_bad_input_is_one_line_exit_64_and_writes_nothing(argv, says, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sessions_dir().mkdir(parents=True, exist_ok=True)
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(argv))
    assert exit_info.value.code == 64
    assert says in one_line(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", ["hello, not json", json.dumps({"cells": "nope"}), json.dumps([1, 2])])
def test_a_file_that_is_not_a_notebook_is_refused(content, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.ipynb").write_text(content)
    assert main(["run", "hi", "--notebook", "x.ipynb"]) == 64
    assert "is not a Jupyter notebook" in one_line(capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["x.ipynb"]


def test_an_empty_sft_selection_writes_nothing(capsys, tmp_path):
    waiting_session()
    assert main(["sft", "build", "--out", str(tmp_path / "x.jsonl"), "--tags", "gpu:h100"]) == 64
    assert "no session under" in one_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_approve_records_the_answer_in_the_log_and_refuses_twice(capsys):
    session = waiting_session()
    nonce = next(iter(session.approvals.records))
    assert main(["approve", session.name, nonce, "--feedback", "ok, go"]) == 0
    assert f"mlintern resume {session.name}" in capsys.readouterr().out
    log = read_events(session.dir / "events.jsonl").events
    answer = log[-1]
    assert isinstance(answer, ev.ApprovalResolved)
    assert (answer.decision, answer.by, answer.feedback, answer.nonce) == ("approved", "person", "ok, go", nonce)
    assert main(["approve", session.id[:8], nonce, "--deny"]) == 64
    assert "already approved" in one_line(capsys)
    # The answer continues through the engine's one gate when the session resumes.
    resumed = Session.resume(session.id, ToolRegistry([Tool.from_function(launch)]),
                             model=ScriptedModel(["finished"]))
    assert resumed.ready_to_continue()
    end = asyncio.run(resumed.run_turn(None))
    assert end.reason == "done"
    assert any(isinstance(e, ev.ToolResult) and e.content == "launched" for e in resumed.events)
    resumed.close()


def test_deny_with_feedback_and_an_unknown_nonce(capsys):
    session = waiting_session()
    nonce = next(iter(session.approvals.records))
    assert main(["approve", session.name, "not-a-nonce"]) == 64
    assert "No approval 'not-a-nonce'" in one_line(capsys)
    assert main(["approve", session.name, nonce, "--deny", "--feedback", "use a smaller model"]) == 0
    answer = read_events(session.dir / "events.jsonl").events[-1]
    assert (answer.decision, answer.feedback) == ("denied", "use a smaller model")


def test_nonces_never_start_with_a_dash(monkeypatch):
    # CI once drew a nonce starting with '-' (1 in 64 do), which argparse read as an option.
    from mlintern_jupyter.agent import approval
    draws = iter(["-looks-like-an-option", "_fine-one"])
    monkeypatch.setattr(approval.secrets, "token_urlsafe", lambda n: next(draws))
    assert approval.new_nonce() == "_fine-one"


def test_a_dash_nonce_from_an_older_log_is_answered_after_double_dash(capsys, monkeypatch):
    from mlintern_jupyter.agent import core
    monkeypatch.setattr(core, "new_nonce", lambda: "-older-nonce")
    session = waiting_session()
    assert next(iter(session.approvals.records)) == "-older-nonce"
    assert main(["approve", session.name, "--deny", "--feedback", "too big", "--", "-older-nonce"]) == 0
    answer = read_events(session.dir / "events.jsonl").events[-1]
    assert (answer.decision, answer.feedback, answer.nonce) == ("denied", "too big", "-older-nonce")


def test_a_running_session_is_not_written_from_outside(capsys):
    session = Session(SessionConfig(model="scripted"), ToolRegistry(), model=ScriptedModel(["done"]))
    asyncio.run(session.run_turn("first"))
    session.close()
    # A kernel wrote a prompt a moment ago and has not ended that turn: it is running there.
    with open(session.dir / "events.jsonl", "a") as log:
        log.write(json.dumps({"v": SCHEMA_VERSION, **ev.UserPrompt(text="more", session_id=session.id, seq=99,
                                                         ts=ev.now_iso()).to_dict()}) + "\n")
    for argv in (["traces", "off", session.name], ["resume", session.name], ["approve", session.name, "n"]):
        assert main(argv) == 64
        assert "is running in a kernel" in one_line(capsys)


def test_sessions_export_and_traces_are_the_magics_functions(capsys, tmp_path):
    from mlintern_jupyter.control import records

    session = waiting_session()
    assert main(["sessions"]) == 0
    assert capsys.readouterr().out.strip() == records.sessions_text(records.list_sessions()).strip()
    out = tmp_path / "s.ipynb"
    assert main(["export", session.name, str(out)]) == 0
    assert json.loads(out.read_text())["nbformat"] == 4
    assert main(["traces", "off", session.name]) == 0
    assert "Traces: off" in capsys.readouterr().out
    modes = [e.mode for e in read_events(session.dir / "events.jsonl").events if isinstance(e, ev.TraceModeChanged)]
    assert modes == ["off"]
    assert main(["traces"]) == 0  # the most recent session, shown not changed
    assert "Traces: off" in capsys.readouterr().out


def test_upload_through_the_console_script_to_the_loopback_hub(fake_hub, tmp_path):
    session = waiting_session()
    env = dict(os.environ, HF_ENDPOINT=fake_hub.url, HF_TOKEN=fake_hub.token, HF_HUB_CACHE=str(tmp_path / "c"))
    mlintern = Path(sys.executable).with_name("mlintern")
    proc = subprocess.run([str(mlintern), "upload", session.name], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Uploaded the trace to hf://datasets/fake-user/ml-intern-sessions/sessions/")
    repo = fake_hub.repo("fake-user/ml-intern-sessions", "dataset")
    assert repo.private and any(p.endswith(f"{session.id}.tags.json") for p in repo.files())
    assert fake_hub.token not in (session.dir / "trace.jsonl").read_text()


def test_inserted_cells_go_below_their_own_prompt_once_and_markdown_is_inert():
    import nbformat

    from mlintern_jupyter.cli.notebooks import run_notebook
    from mlintern_jupyter.control.notebook_cells import anchored_inserts, place_cells_below

    notebook, index = run_notebook("train", {"model": "demo"}, None)
    ours = notebook.cells[index].id
    log = [ev.CellInsert(call_id="old", source="print('an earlier turn')", anchor_cell_id="another-cell"),
           ev.CellInsert(call_id="a", source="print(1)", anchor_cell_id=ours),
           ev.CellInsert(call_id="b", source="<img src=x onerror=alert(1)> **notes**", cell_type="markdown",
                         anchor_cell_id=ours),
           ev.CellInsert(call_id="a", source="print(1)", anchor_cell_id=ours)]  # the same insertion again
    inserts = anchored_inserts(log, ours)
    assert place_cells_below(notebook, index, "sid", inserts) == ["sid:a", "sid:b"]
    assert place_cells_below(notebook, index, "sid", inserts) == []  # a second writer adds nothing
    code, markdown = notebook.cells[index + 1], notebook.cells[index + 2]
    assert code.source == "print(1)" and code.metadata["mlintern"]["insert_id"] == "sid:a"
    assert "<img" not in markdown.source and "notes" in markdown.source
    assert len(notebook.cells) == index + 3
    nbformat.validate(notebook)
