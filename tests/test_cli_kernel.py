"""`mlintern run` / `resume` end to end: the console script starts a real kernel, follows the log live, writes the
notebook and the export; ask mode ends with the command that answers; Ctrl+C (real SIGINT) stops the turn, a
second one kills the kernel; a kernel that dies mid-run is reported and nothing is written half."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.session import Session
from mlintern_jupyter.agent.store import read_events, sessions_dir
from mlintern_jupyter.tools.registry import ToolRegistry

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
MLINTERN = str(Path(sys.executable).with_name("mlintern"))
SLOW_TOOLS = '''
import asyncio, os, signal, time
from mlintern_jupyter.tools.registry import Tool
agent = get_ipython().magics_manager.registry['InternMagics'].agent

async def slow_tool(seconds: float = 60) -> str:
    """Wait (read-only)."""
    await asyncio.sleep(seconds)
    return "slept"

async def stubborn_tool(seconds: float = 60) -> str:
    """Wait, and take long to stop (read-only)."""
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        time.sleep(30)  # blocks the agent's loop: a stop cannot finish for a while
        raise
    return "slept"

async def crash_kernel() -> str:
    """End this kernel's process at once (read-only)."""
    os.kill(os.getpid(), signal.SIGKILL)
    return "unreachable"

agent.extra_tools += [Tool.from_function(f, read_only=True) for f in (slow_tool, stubborn_tool, crash_kernel)]
'''


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, IPYTHONDIR=str(tmp_path / "ipython"), LITELLM_LOCAL_MODEL_COST_MAP="True",
                LITELLM_OFFLINE_MODE="true")


def notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in ("%load_ext mlintern_jupyter", *sources)]
    nbformat.write(nb, path)
    return path


def scripted(tmp_path: Path, *items: object) -> str:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(list(items)))
    return f"scripted:{path}"


def mlintern(args: list[str], env: dict, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([MLINTERN, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def kernels_of(home: str) -> list[int]:
    """Live ipykernel processes started for this test's MLINTERN_HOME."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if b"ipykernel" in (entry / "cmdline").read_bytes() and \
                    f"MLINTERN_HOME={home}".encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def only_log(home: str) -> tuple[Path, list[ev.Event]]:
    (folder,) = [f for f in sessions_dir(Path(home)).iterdir() if f.is_dir()]
    log = read_events(folder / "events.jsonl")
    assert log.bad_lines == [] and log.torn_tail is None
    return folder, log.events


def test_run_in_a_notebook_live_json_then_the_notebook_with_its_script_cell_and_the_export(tmp_path, env):
    (tmp_path / "work").mkdir()  # the kernel runs in the notebook's folder, the command elsewhere
    source = notebook(tmp_path / "work" / "work.ipynb", "from sklearn.datasets import load_digits\n"
                      "digits = load_digits()\nimport os; assert os.getcwd().endswith('work')")
    before = source.read_bytes()
    proc = mlintern(["run", "Train a classifier on the `digits` data and report its accuracy", "--model", "demo",
                     "--approve", "auto", "--budget", "1", "--notebook", str(source), "--json"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    events = [ev.decode_event(line) for line in proc.stdout.splitlines()]  # every stdout line is one event
    kinds = [e.kind for e in events]
    end = max(i for i, kind in enumerate(kinds) if kind == "turn_ended")
    # After the turn, only the kernel's fallback writer may record the set_next_input it offered (nbclient drops it).
    assert kinds[0] == "session_started" and events[end].reason == "done" and set(kinds[end + 1:]) <= {"cell_placed"}
    assert {"tool_call", "approval_requested", "job_updated", "usage", "cell_insert"} <= set(kinds)
    # The notebook's kernel state was the context: kernel_inspect found `digits`.
    inspect = next(e for e in events if isinstance(e, ev.ToolResult) and e.tool == "kernel_inspect")
    assert inspect.ok
    out = nbformat.read(tmp_path / "work" / "work.mlintern.ipynb", as_version=4)
    sources = [c.source for c in out.cells]
    intern = next(i for i, s in enumerate(sources) if s.startswith("%%intern --wait"))
    assert "--model demo" in sources[intern] and sources[intern].endswith("report its accuracy")
    assert sources[intern + 1].startswith("# /// script") and len(out.cells) == intern + 2  # the script, once
    insert = next(e for e in events if isinstance(e, ev.CellInsert))
    assert out.cells[intern + 1].metadata["mlintern"]["insert_id"] == f"{events[0].session_id}:{insert.call_id}"
    assert out.cells[intern].outputs  # the cards' output
    # What readers without a kernel see (nbconvert, GitHub): the record, never a widget view needing JavaScript.
    (card,) = [o for o in out.cells[intern].outputs if "mlintern" in o.get("metadata", {})]
    assert "application/vnd.jupyter.widget-view+json" not in card["data"] and "mlintern-static" in card["data"]["text/html"]
    assert not any(o.get("output_type") == "error" for c in out.cells for o in c.get("outputs", []))
    export = nbformat.read(tmp_path / "work" / "work.mlintern.export.ipynb", as_version=4)
    nbformat.validate(export)
    assert not list(tmp_path.glob("**/.*.tmp")) and kernels_of(env["MLINTERN_HOME"]) == []
    assert source.read_bytes() == before  # the input notebook is untouched


def test_ask_mode_ends_with_the_answer_command_then_approve_and_resume(tmp_path, env):
    proc = mlintern(["run", "Train a classifier on digits", "--model", "demo", "--out", "run.ipynb"], env, tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "approval hf_jobs needs a decision" in proc.stdout and "end      awaiting_approval" in proc.stdout
    approve = re.search(r"^  (mlintern approve (\S+) (\S+))$", proc.stderr, re.MULTILINE)
    assert approve, proc.stderr
    name, nonce = approve.group(2), approve.group(3)
    assert f"mlintern resume {name}" in proc.stderr and f"--deny --feedback 'why' {nonce}" in proc.stderr
    assert mlintern(["approve", name, nonce], env, tmp_path).returncode == 0
    resumed = mlintern(["resume", name, "--out", "resumed.ipynb"], env, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "end      done" in resumed.stdout and "job " in resumed.stdout
    _, events = only_log(env["MLINTERN_HOME"])
    answer = next(e for e in events if isinstance(e, ev.ApprovalResolved))
    assert (answer.decision, answer.by, answer.nonce) == ("approved", "person", nonce)
    assert any(isinstance(e, ev.ToolStarted) and e.tool == "hf_jobs" for e in events)
    assert (tmp_path / "resumed.ipynb").exists() and (tmp_path / "resumed.export.ipynb").exists()
    # Nothing left to continue: the resume says how the last turn ended.
    again = mlintern(["resume", name, "--export", "none"], env, tmp_path)
    assert again.returncode == 0 and "nothing to continue: the last turn ended done" in again.stderr


def start(args: list[str], env: dict, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([MLINTERN, *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for_started(proc: subprocess.Popen, tool: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        event = ev.decode_event(line)
        if isinstance(event, ev.ToolStarted) and event.tool == tool:
            return
    raise AssertionError(f"{tool} never started: {proc.stderr.read() if proc.stderr else ''}")


def test_ctrl_c_stops_the_turn_as_stop_does(tmp_path, env):
    source = notebook(tmp_path / "nb.ipynb", SLOW_TOOLS)
    model = scripted(tmp_path, {"tool_calls": [{"name": "slow_tool", "arguments": {"seconds": 120}}]}, "never")
    proc = start(["run", "wait a while", "--model", model, "--notebook", str(source), "--json"], env, tmp_path)
    wait_for_started(proc, "slow_tool")
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopping the turn" in err and time.monotonic() - started < 20
    _, events = only_log(env["MLINTERN_HOME"])
    aborted = next(e for e in events if isinstance(e, ev.ToolResult))
    assert (aborted.tool, aborted.status) == ("slow_tool", "aborted")
    assert isinstance(events[-1], ev.TurnEnded) and events[-1].reason == "cancelled"
    assert (tmp_path / "nb.mlintern.ipynb").exists() and kernels_of(env["MLINTERN_HOME"]) == []


def test_a_second_ctrl_c_kills_the_kernel_and_the_log_stays_valid(tmp_path, env):
    source = notebook(tmp_path / "nb.ipynb", SLOW_TOOLS)
    model = scripted(tmp_path, {"tool_calls": [{"name": "stubborn_tool", "arguments": {"seconds": 120}}]}, "never")
    proc = start(["run", "wait a while", "--model", model, "--notebook", str(source), "--json"], env, tmp_path)
    wait_for_started(proc, "stubborn_tool")
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "killing the kernel" in err and "its log is intact: mlintern resume" in err
    assert kernels_of(env["MLINTERN_HOME"]) == []
    folder, events = only_log(env["MLINTERN_HOME"])
    assert not (tmp_path / "nb.mlintern.ipynb").exists()  # the executed notebook would be half: not written
    nbformat.validate(nbformat.read(tmp_path / "nb.mlintern.export.ipynb", as_version=4))
    # The log resumes: the call cut off by the kill gets its aborted result, the transcript is valid.
    resumed = Session.resume(folder.name, ToolRegistry())
    assert resumed.state.open_calls() == [] and isinstance(resumed.events[-1], ev.ToolResult)
    resumed.close()


def test_a_kernel_that_dies_mid_run_is_one_clear_line_and_nothing_half_written(tmp_path, env):
    source = notebook(tmp_path / "nb.ipynb", SLOW_TOOLS)
    model = scripted(tmp_path, {"tool_calls": [{"name": "crash_kernel", "arguments": {}}]}, "never")
    proc = mlintern(["run", "crash please", "--model", model, "--notebook", str(source)], env, tmp_path)
    assert proc.returncode == 70, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "the kernel died during the run" in lines[0] and "mlintern resume" in lines[0]
    assert not (tmp_path / "nb.mlintern.ipynb").exists() and not list(tmp_path.glob(".*.tmp"))
    _, events = only_log(env["MLINTERN_HOME"])
    assert isinstance(events[-1], ev.ToolStarted) and events[-1].tool == "crash_kernel"
