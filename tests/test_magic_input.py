"""Every magic input validated on a real IPython shell: one clear line, no traceback, nothing left behind."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from .test_jupyter_magic import agent_of
from .test_jupyter_magic import ip as shell  # noqa: F401 - the real-shell fixture, used by name


@pytest.fixture
def ip(shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    monkeypatch.delenv("MLINTERN_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)  # relative export paths land here
    return shell


def sessions_on_disk() -> list[Path]:
    import os

    folder = Path(os.environ["MLINTERN_HOME"]) / "sessions"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def said(capsys) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "Error:" not in err, out + err
    return out.strip()


def test_intern_alone_shows_the_usage_of_every_command(ip, capsys) -> None:
    ip.run_line_magic("intern", "")
    out = said(capsys)
    assert out.startswith("usage: %%intern [--model NAME]")
    for command in ("status", "stop", "model", "effort", "approve-mode", "budget USD|none", "price", "cancel JOB_ID",
                    "export PATH [--make-dirs]", "sessions", "resume ID [--wait]", "traces", "upload", "%%intern approve NONCE"):
        assert command in out, command


def test_cell_magic_help_names_itself_and_every_value_an_option_takes(ip) -> None:
    doc = ip.magics_manager.magics["cell"]["intern"].__doc__
    usage = doc.split("::", 1)[1].strip()
    assert usage.startswith("%%intern [--model NAME] [--approve ask|auto|deny] [--budget USD]"), usage
    for values in ("ask|auto|deny", "low|medium|high|max|none", "--budget USD", "--max-iterations N",
                   "--api-base URL", "scripted:PATH"):
        assert values in doc, values
    assert "<{" not in doc  # argparse's choices placeholder renders blank as HTML in JupyterLab's help


@pytest.mark.parametrize(("line", "expected"), [
    ("budget -5", "budget must be at least 0 (got -5)"),
    ("budget abc", "budget must be a number of USD (got abc)"),
    ("price 1 -2", "output price must be at least 0 (got -2)"),
    ("effort extreme", "effort must be one of 'low', 'medium', 'high', 'max', 'none' (got extreme)"),
    ("approve-mode maybe", "mode must be one of 'ask', 'auto', 'deny' (got maybe)"),
    ("max-iterations 0", "max iterations must be at least 1 (got 0)"),
    ("stop", "Nothing is running."),
    ("frobnicate", "unknown command 'frobnicate'"),
])
def test_bad_line_input_gets_one_line(ip, capsys, line, expected) -> None:
    ip.run_line_magic("intern", line)
    assert said(capsys).splitlines()[0] == expected
    assert agent_of(ip).session is None and sessions_on_disk() == []


@pytest.mark.parametrize(("options", "expected"), [
    ("--model demo --budget -5", "budget must be at least 0 (got -5)"),
    ("--model demo --budget five", "budget must be a number of USD (got five)"),
    ("--model demo --max-iterations many", "max iterations must be a whole number (got many)"),
    ("--model demo --approve maybe", "approve must be one of 'ask', 'auto', 'deny' (got maybe)"),
])
def test_bad_cell_options_get_one_line_and_start_nothing(ip, capsys, options, expected) -> None:
    ip.run_cell_magic("intern", options, "train something")
    assert said(capsys) == expected
    assert agent_of(ip).session is None and sessions_on_disk() == []


def test_an_unknown_model_is_refused_when_set_with_the_providers_hint(ip, capsys) -> None:
    ip.run_line_magic("intern", "model nosuchprovider/foo")
    out = said(capsys)
    assert out.startswith("Cannot use nosuchprovider/foo: model 'nosuchprovider/foo' needs HF_TOKEN") and "hf auth" in out
    assert "\n" not in out
    ip.run_line_magic("intern", "model anthropic/")
    assert said(capsys).startswith("Cannot use anthropic/: model id 'anthropic/' is incomplete")
    assert agent_of(ip).dispatcher.next.model is None  # nothing recorded for the next session either


def test_a_turn_refused_for_a_missing_key_leaves_no_session(ip, capsys) -> None:
    ip.run_cell_magic("intern", "--model anthropic/claude-sonnet-4-5 --wait", "hello")
    out = said(capsys)
    assert out.startswith("Cannot use anthropic/claude-sonnet-4-5: model 'anthropic/claude-sonnet-4-5' needs "
                          "ANTHROPIC_API_KEY")
    assert agent_of(ip).session is None and sessions_on_disk() == []


def test_a_turn_that_never_reached_its_model_leaves_no_session(ip, capsys) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ip.run_cell_magic("intern", f"--model ollama/llama3.1 --api-base http://127.0.0.1:{port} --wait", "hello")
    out = capsys.readouterr().out
    assert "turn ended: error" in out
    assert agent_of(ip).session is None and sessions_on_disk() == []
    # A session whose first turn did reach its model stays.
    ip.run_cell_magic("intern", "--model scripted:echo --wait", "hello")
    assert len(sessions_on_disk()) == 1


def test_export_paths_are_checked_before_anything_is_written(ip, capsys, tmp_path) -> None:
    ip.run_cell_magic("intern", "--model scripted:echo --wait", "hello")
    capsys.readouterr()
    ip.run_line_magic("intern", f"export {tmp_path}/no/such/dir/x.ipynb")
    assert said(capsys) == f"Not exported: the folder {tmp_path}/no/such/dir does not exist: create it first, or " \
                           "add --make-dirs"
    assert not (tmp_path / "no").exists()
    (tmp_path / "a-file").write_text("")
    ip.run_line_magic("intern", f"export {tmp_path}/a-file/x.ipynb")
    assert said(capsys) == f"Not exported: {tmp_path}/a-file is not a folder"
    ip.run_line_magic("intern", "export /sys/x.ipynb")  # not writable, even for root
    out = said(capsys)
    assert out.startswith("Not exported:") and "\n" not in out
    ip.run_line_magic("intern", f"export {tmp_path}/made/x.ipynb --make-dirs")
    assert said(capsys) == f"Exported the session to {tmp_path}/made/x.ipynb"
    ip.run_line_magic("intern", "export relative.ipynb")
    assert said(capsys) == f"Exported the session to {tmp_path}/relative.ipynb"


def test_an_empty_cell_shows_the_usage(ip, capsys) -> None:
    ip.run_cell_magic("intern", "--model demo", "   \n")
    assert said(capsys).startswith("%%intern needs a task on the lines below the magic.\nusage: %%intern")
    assert agent_of(ip).session is None
