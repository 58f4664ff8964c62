"""The session record through a real kernel: after a kernel restart, %intern sessions lists the session,
%intern resume restores it with its pending approval still pending, and %intern export writes a valid notebook."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from .test_kernel_magic import SETUP, Kernel, kernel, script  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.kernel


def test_restart_then_sessions_resume_and_export(kernel: Kernel, tmp_path: Path) -> None:  # noqa: F811
    model = script(tmp_path, [
        {"text": "saving a note", "tool_calls": [{"name": "write", "arguments": {"path": "note.txt", "content": "hi"}}]},
        {"text": "now the risky part", "tool_calls": [{"name": "risky", "arguments": {"script": "rm -rf /tmp/x"}}]},
        "never reached"])
    out, _ = kernel.run(f"%%intern --model {model} --wait\nsave a note, then do the risky part")
    assert kernel.value("[e.reason for e in agent.session.events if e.kind == 'turn_ended']") == ["awaiting_approval"]
    session_id = kernel.value("agent.session.id")

    kernel.km.restart_kernel(now=True)
    kernel.kc.wait_for_ready(timeout=60)
    out, reply = kernel.run("%load_ext mlintern_jupyter\n" + SETUP)
    assert reply["content"]["status"] == "ok", out

    out, _ = kernel.run("%intern sessions")
    assert session_id in out and "awaiting" in out

    out, _ = kernel.run(f"%intern resume {session_id}")
    assert "1 approval(s) pending" in out, out
    assert kernel.value("len(agent.session.approvals.pending())") == 1
    assert kernel.value("[c.name for c in agent.session.transcript.open_tool_calls()]") == ["risky"]

    exported = tmp_path / "exported.ipynb"
    out, _ = kernel.run(f"%intern export {exported}")
    assert exported.exists(), out
    notebook = nbformat.read(exported, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["mlintern"]["session_id"] == session_id
    text = json.dumps(notebook)
    assert "save a note, then do the risky part" in text and "rm -rf /tmp/x" in text
