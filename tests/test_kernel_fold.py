"""The state fold across a real kernel death: SIGKILL the kernel right after a person answered an approval (no
turn running), settings changed and compute was reserved; the restarted kernel rebuilds exactly the same state
from the log, and `%intern resume` continues the answered call through the gate (the denial and its feedback
reach the model)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from .test_kernel_magic import SETUP, Kernel, kernel, script  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.kernel

DIGEST = """
import hashlib
from mlintern_jupyter.agent.core import default_system_prompt
from mlintern_jupyter.agent.state import replay
from mlintern_jupyter.agent.store import read_events, sessions_dir

def state_digest(state):
    # The system prompt is the host's (rebuilt with a fresh session context on resume), not the log's.
    snapshot = {**state.snapshot(), "messages": state.snapshot()["messages"][1:]}
    return hashlib.sha256(json.dumps(snapshot, default=repr, sort_keys=True).encode()).hexdigest()

def log_digest(session_id):
    log = read_events(sessions_dir() / session_id / "events.jsonl")
    return state_digest(replay(log.events, default_system_prompt()))
"""


def test_sigkill_after_an_answer_then_restart_rebuilds_the_same_state(kernel: Kernel, tmp_path: Path) -> None:  # noqa: F811
    model = script(tmp_path, [
        {"text": "a note first", "tool_calls": [{"name": "write", "arguments": {"path": "n.txt", "content": "hi"}}]},
        {"text": "now the risky part", "tool_calls": [{"name": "risky", "arguments": {"script": "rm -rf data"}}]}])
    out, reply = kernel.run(f"%%intern --model {model} --wait\nsave a note, then clean up")
    assert reply["content"]["status"] == "ok", out
    out, reply = kernel.run(DIGEST + """
s = agent.session
nonce = s.approvals.pending()[0].nonce
s.set_budget(7.5)
s.set_effort("high")
s.set_approve_mode("deny")
s.set_approve_mode("ask")
assert s.reserve_compute("job-call", 1.25)
assert s.deny(nonce, "never delete the data")  # recorded at once; no turn runs, nothing continues it
before = {"id": s.id, "name": s.name, "digest": state_digest(s.state), "seq": s.state.seq}
""")
    assert reply["content"]["status"] == "ok", out
    before = kernel.value("before")
    assert kernel.value("log_digest(before['id'])") == before["digest"]

    os.kill(kernel.km.provisioner.process.pid, signal.SIGKILL)  # type: ignore[union-attr]
    kernel.km.restart_kernel(now=True)
    kernel.kc.wait_for_ready(timeout=60)
    out, reply = kernel.run("%load_ext mlintern_jupyter\n" + SETUP + DIGEST)
    assert reply["content"]["status"] == "ok", out

    # The log alone rebuilds the state the dead kernel had: answer, budget, reservation, settings.
    assert kernel.value(f"log_digest({before['id']!r})") == before["digest"]

    after = tmp_path / "after.json"
    after.write_text(json.dumps(["understood: I will not delete the data"]))
    kernel.run(f"%intern model scripted:{after}")  # the first script would start over in a new process
    out, _ = kernel.run(f"%intern resume {before['name']}")
    assert "0 approval(s) pending" in out, out
    kernel.wait_for("[e.reason for e in agent.session.events if e.kind == 'turn_ended'][-1:] == ['done']", timeout=20)
    state = kernel.value("[agent.session.budget.cap_usd, agent.session.budget.reservations, "
                         "agent.session.state.reasoning_effort, agent.session.state.approve_mode]")
    assert state == [7.5, {"job-call": 1.25}, "high", "ask"]
    result = kernel.value("[(e.status, e.content) for e in agent.session.events "
                          "if e.kind == 'tool_result' and e.tool == 'risky']")
    assert result[0][0] == "denied" and "never delete the data" in result[0][1]
    assert kernel.value("ran") == []
    assert kernel.value("[e.text for e in agent.session.events if e.kind == 'assistant_message'][-1]") == \
        "understood: I will not delete the data"
