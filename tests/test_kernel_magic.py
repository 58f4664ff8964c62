"""%%intern through a real ipykernel: the cell returns at once, widget clicks over the comm approve and deny,
the interrupt button and %intern stop end a turn within 2 s, --wait hands the script to set_next_input."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from jupyter_client import KernelManager

from .kernel_client import KernelClient

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.kernel

SETUP = """
import asyncio, json
from mlintern_jupyter.agent.models import FunctionModel
from mlintern_jupyter.tools.registry import Tool
agent = get_ipython().magics_manager.registry['InternMagics'].agent
ran = []

async def risky(script: str) -> str:
    '''Run a script (needs approval: not a known read-only tool).'''
    ran.append(script)
    return 'ran ' + script

async def slow_tool(seconds: float = 30) -> str:
    '''Sleep (read-only).'''
    await asyncio.sleep(seconds)
    return 'slept'

agent.extra_tools += [Tool.from_function(risky), Tool.from_function(slow_tool, read_only=True)]

def kinds():
    return [e.kind for e in agent.session.events]
"""


class Kernel(KernelClient):
    def click(self, model_id: str, state: dict | None = None) -> None:
        """What the frontend's widget manager sends when a person types into a widget and clicks a Button."""
        if state is not None:
            msg = self.kc.session.msg("comm_msg", {"comm_id": model_id, "data": {
                "method": "update", "state": state, "buffer_paths": []}})
            self.kc.shell_channel.send(msg)
        msg = self.kc.session.msg("comm_msg", {"comm_id": model_id, "data": {
            "method": "custom", "content": {"event": "click"}}})
        self.kc.shell_channel.send(msg)


@pytest.fixture
def kernel(tmp_path: Path):
    env = dict(os.environ)
    env.update(PYTHONPATH=str(ROOT), IPYTHONDIR=str(tmp_path / "ipython"), LITELLM_LOCAL_MODEL_COST_MAP="True",
               LITELLM_OFFLINE_MODE="true")
    # These tests click the ipywidgets cards (the fallback renderer); the anywidget card has its own tests
    # (test_kernel_card_widget.py).
    env["MLINTERN_CARDS"] = "ipywidgets"
    km = KernelManager(kernel_name="python3")  # the native spec: this interpreter
    km.start_kernel(env=env, cwd=str(tmp_path))
    kernel = Kernel(km)
    out, reply = kernel.run("%load_ext mlintern_jupyter\n" + SETUP)
    assert reply["content"]["status"] == "ok", out
    yield kernel
    kernel.kc.stop_channels()
    km.shutdown_kernel(now=True)


def script(tmp_path: Path, items: list) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(items))
    return f"scripted:{path}"


def test_cell_returns_at_once_and_the_turn_runs_in_the_background(kernel: Kernel, tmp_path: Path) -> None:
    model = script(tmp_path, [{"text": "checking", "tool_calls": [{"name": "slow_tool", "arguments": {"seconds": 1.5}}]},
                              "done"])
    start = time.monotonic()
    out, reply = kernel.run(f"%%intern --model {model}\ntrain something")
    took = time.monotonic() - start
    assert reply["content"]["status"] == "ok", out
    assert took < 1.0, took
    # The kernel answers other cells while the agent works.
    kernel.wait_for("agent.session.running", timeout=2)
    assert kernel.value("1 + 1") == 2
    assert kernel.value("agent.session.running") is True
    kernel.wait_for("'turn_ended' in kinds()")
    assert kernel.value("[e.reason for e in agent.session.events if e.kind == 'turn_ended']") == ["done"]


def _pending_approval(kernel: Kernel, tmp_path: Path) -> dict:
    model = script(tmp_path, [
        {"text": "", "tool_calls": [{"name": "risky", "arguments": {"script": "print('train')"}}]}, "finished"])
    kernel.run(f"%%intern --model {model}\nrun it")
    kernel.wait_for("bool(agent.session.approvals.pending())")
    return kernel.value("{k: getattr(c, k).model_id for c in agent.view.approvals.values() "
                        "for k in ('approve_button', 'deny_button', 'feedback')}")


def test_approve_click_over_the_widget_comm_runs_the_action(kernel: Kernel, tmp_path: Path) -> None:
    ids = _pending_approval(kernel, tmp_path)
    assert kernel.value("ran") == []
    kernel.click(ids["approve_button"])
    kernel.wait_for("'turn_ended' in kinds()")
    assert kernel.value("ran") == ["print('train')"]
    assert kernel.value("[e.decision for e in agent.session.events if e.kind == 'approval_resolved']") == ["approved"]


def test_deny_click_with_feedback_runs_nothing_and_tells_the_model(kernel: Kernel, tmp_path: Path) -> None:
    ids = _pending_approval(kernel, tmp_path)
    kernel.click(ids["deny_button"], state=None)
    kernel.run("")  # let the click be handled before checking
    kernel.wait_for("'turn_ended' in kinds()")
    assert kernel.value("ran") == []
    results = kernel.value("[(e.status, e.content) for e in agent.session.events if e.kind == 'tool_result']")
    assert results[0][0] == "denied"


def test_deny_feedback_typed_in_the_card_reaches_the_model(kernel: Kernel, tmp_path: Path) -> None:
    ids = _pending_approval(kernel, tmp_path)
    kernel.click(ids["feedback"], state={"value": "use a smaller GPU"})
    kernel.click(ids["deny_button"])
    kernel.wait_for("'turn_ended' in kinds()")
    content = kernel.value("[e.content for e in agent.session.events if e.kind == 'tool_result'][0]")
    assert "use a smaller GPU" in content
    assert kernel.value("ran") == []


def _start_slow_model_turn(kernel: Kernel) -> None:
    kernel.run("%%intern --model scripted:echo --wait\nwarm up")
    kernel.run("async def slow(m, t, s):\n    await asyncio.sleep(60)\n    return 'late'\n"
               "agent.session.model = FunctionModel(slow)")
    kernel.run("%%intern\nthink hard")
    kernel.wait_for("agent.session.running")
    time.sleep(0.3)


def _assert_stopped_and_usable(kernel: Kernel, within: float = 2.0) -> None:
    took = kernel.wait_for("not agent.session.running", timeout=5)
    assert took < within, took
    assert kernel.value("[e.reason for e in agent.session.events if e.kind == 'turn_ended'][-1]") == "cancelled"
    out, reply = kernel.run("%%intern --model scripted:echo --wait\nstill there?")
    assert reply["content"]["status"] == "ok", out
    assert kernel.value("[e.reason for e in agent.session.events if e.kind == 'turn_ended'][-1]") == "done"


def test_interrupt_button_during_a_model_call_stops_the_turn(kernel: Kernel) -> None:
    _start_slow_model_turn(kernel)
    kernel.km.interrupt_kernel()
    _assert_stopped_and_usable(kernel)


def test_interrupt_button_during_a_tool_call_aborts_it(kernel: Kernel, tmp_path: Path) -> None:
    model = script(tmp_path, [{"text": "", "tool_calls": [{"name": "slow_tool", "arguments": {"seconds": 60}}]}, "x"])
    kernel.run(f"%%intern --model {model}\nsleep")
    kernel.wait_for("'tool_started' in kinds()")
    kernel.km.interrupt_kernel()
    _assert_stopped_and_usable(kernel)
    assert kernel.value("[e.status for e in agent.session.events if e.kind == 'tool_result']")[0] == "aborted"


def test_stop_magic_and_stop_button_end_the_turn(kernel: Kernel) -> None:
    _start_slow_model_turn(kernel)
    kernel.run("%intern stop")
    _assert_stopped_and_usable(kernel)
    kernel.run("agent.session.model = FunctionModel(slow)")
    kernel.run("%%intern\nagain")
    kernel.wait_for("agent.session.running")
    kernel.click(kernel.value("agent.view.stop_button.model_id"))
    _assert_stopped_and_usable(kernel)


def test_wait_blocks_and_puts_the_script_into_the_next_cell(kernel: Kernel, tmp_path: Path) -> None:
    model = script(tmp_path, [
        {"text": "", "tool_calls": [{"name": "notebook_insert_cell", "arguments": {"source": "import torch\nprint(1)"}}]},
        "see the new cell"])
    out, reply = kernel.run(f"%%intern --model {model} --wait\nwrite a script")
    assert kernel.value("[e.reason for e in agent.session.events if e.kind == 'turn_ended']") == ["done"]
    payloads = reply["content"]["payload"]
    assert {"source": "set_next_input", "text": "import torch\nprint(1)", "replace": False} in payloads
    saved = kernel.value("[str(p) for p in agent.session.scripts_dir.iterdir()]")
    assert len(saved) == 1 and Path(saved[0]).read_text() == "import torch\nprint(1)"
    # No panel was attached: the kernel was the one writer, and the log says so.
    assert kernel.value("[(e.by, e.how) for e in agent.session.events if e.kind == 'cell_placed']") == [
        ["kernel", "inserted"]]


def _insert_model(tmp_path: Path, name: str, source: str) -> str:
    folder = tmp_path / name
    folder.mkdir()
    return script(folder, [
        {"text": "", "tool_calls": [{"name": "notebook_insert_cell", "arguments": {"source": source}}]}, "done"])


def test_with_a_panel_attached_the_panel_writes_the_cell_and_the_kernel_does_not(kernel: Kernel, tmp_path: Path) -> None:
    from mlintern_jupyter.control.commands import PROTOCOL_VERSION as V

    _open_comm(kernel, "panel", {"v": V, "id": "h", "command": {"type": "hello"}})
    _comm_replies(kernel, "panel", lambda r: any(x.get("type") == "events" for x in r))
    model = _insert_model(tmp_path, "a", "print('from the panel')")
    out, reply = kernel.run(f"%%intern --model {model} --wait\nwrite a script")
    assert not [p for p in reply["content"]["payload"] if p.get("source") == "set_next_input"]
    (insert,) = kernel.value("[e.to_dict() for e in agent.session.events if e.kind == 'cell_insert']")
    _send(kernel, "panel", {"v": V, "id": "a1", "command": {"type": "cell_ack", "session_id": insert["session_id"],
                                                            "call_id": insert["call_id"], "result": "inserted"}})
    kernel.wait_for("[e.by for e in agent.session.events if e.kind == 'cell_placed'] == ['panel']")
    # A reload replays the history: the panel finds the cell and acknowledges nothing new; the log keeps one writer.
    _send(kernel, "panel", {"v": V, "id": "a2", "command": {"type": "cell_ack", "session_id": insert["session_id"],
                                                            "call_id": insert["call_id"], "result": "inserted"}})
    time.sleep(0.3)
    assert kernel.value("len([e for e in agent.session.events if e.kind == 'cell_placed'])") == 1
    # The card's "Insert below" would make a second copy: refused.
    refused = kernel.value(f"agent.send({{'type': 'insert_cell', 'session_id': {insert['session_id']!r}, "
                           f"'call_id': {insert['call_id']!r}}}).message")
    assert refused == "That cell is already in the notebook (written by the panel)."


def test_a_panel_that_never_acknowledges_counts_as_gone_and_the_kernel_writes(kernel: Kernel, tmp_path: Path) -> None:
    from mlintern_jupyter.control.commands import PROTOCOL_VERSION as V

    _open_comm(kernel, "silent", {"v": V, "id": "h", "command": {"type": "hello"}})
    _comm_replies(kernel, "silent", lambda r: any(x.get("type") == "events" for x in r))
    # A first insertion the attached panel never acknowledges (a closed browser tab that sent no close).
    kernel.run(f"%%intern --model {_insert_model(tmp_path, 'a', 'print(1)')}\nfirst")
    kernel.wait_for("'turn_ended' in kinds()")
    time.sleep(2.5)  # longer than the acknowledgement window
    _, reply = kernel.run(f"%%intern --model {_insert_model(tmp_path, 'b', 'print(2)')} --wait --new\nsecond")
    payloads = [p for p in reply["content"]["payload"] if p.get("source") == "set_next_input"]
    assert [p["text"] for p in payloads] == ["print(2)"]


def test_wait_with_ask_ends_awaiting_approval_then_a_click_continues(kernel: Kernel, tmp_path: Path) -> None:
    model = script(tmp_path, [
        {"text": "", "tool_calls": [{"name": "risky", "arguments": {"script": "go()"}}]}, "all done"])
    start = time.monotonic()
    kernel.run(f"%%intern --model {model} --wait\nrun")
    assert time.monotonic() - start < 5
    assert kernel.value("[e.reason for e in agent.session.events if e.kind == 'turn_ended']") == ["awaiting_approval"]
    kernel.click(kernel.value("list(agent.view.approvals.values())[0].approve_button.model_id"))
    kernel.wait_for("[e.reason for e in agent.session.events if e.kind == 'turn_ended'][-1:] == ['done']")
    assert kernel.value("ran") == ["go()"]


def test_a_prompt_during_a_turn_is_queued_and_runs_after(kernel: Kernel, tmp_path: Path) -> None:
    model = script(tmp_path, [{"text": "", "tool_calls": [{"name": "slow_tool", "arguments": {"seconds": 1}}]},
                              "first done", "second done"])
    kernel.run(f"%%intern --model {model}\nfirst")
    kernel.wait_for("agent.session.running")
    kernel.run("%%intern\nsecond")
    kernel.wait_for("kinds().count('turn_ended') == 2")
    events = kernel.value("[(e.kind, getattr(e, 'text', '')) for e in agent.session.events "
                          "if e.kind in ('prompt_queued', 'user_prompt', 'turn_ended')]")
    assert events == [["user_prompt", "first"], ["prompt_queued", "second"], ["turn_ended", ""],
                      ["user_prompt", "second"], ["turn_ended", ""]]


def _comm_replies(kernel: Kernel, comm_id: str, until, timeout: float = 10) -> list[dict]:
    replies: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until(replies):
        try:
            msg = kernel.kc.get_iopub_msg(timeout=1)
        except Exception:  # noqa: BLE001 - queue.Empty: keep polling until the deadline
            continue
        if msg["msg_type"] == "comm_msg" and msg["content"]["comm_id"] == comm_id:
            replies.append(msg["content"]["data"])
    return replies


def _open_comm(kernel: Kernel, comm_id: str, data: dict) -> None:
    kc = kernel.kc
    kc.shell_channel.send(kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "mlintern", "data": data}))


def _send(kernel: Kernel, comm_id: str, data: dict) -> None:
    kc = kernel.kc
    kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))


def test_mlintern_comm_replays_events_and_takes_prompts(kernel: Kernel, tmp_path: Path) -> None:
    from mlintern_jupyter.control.commands import PROTOCOL_VERSION as V

    kernel.run("%%intern --model scripted:echo --wait\nfirst")
    _open_comm(kernel, "test-comm-1", {"v": V, "command": {"type": "hello"}})
    replies = _comm_replies(kernel, "test-comm-1", lambda r: any(x.get("type") == "events" for x in r))
    history = next(r for r in replies if r["type"] == "events")
    assert history["v"] == V and [e["kind"] for e in history["events"]][:2] == ["session_started", "user_prompt"]
    _send(kernel, "test-comm-1", {"v": V, "id": "p1", "command": {"type": "prompt", "text": "from the panel",
                                                                  "cell_id": "abc"}})
    kernel.wait_for("kinds().count('turn_ended') == 2")
    assert kernel.value("[e.text for e in agent.session.events if e.kind == 'user_prompt']") == ["first", "from the panel"]
    # Settings from the panel go through the same commands, validated the same way.
    _send(kernel, "test-comm-1", {"v": V, "id": "b1", "command": {"type": "set_budget", "usd": -5}})
    _send(kernel, "test-comm-1", {"v": V, "id": "b2", "command": {"type": "set_budget", "usd": 4}})
    _send(kernel, "test-comm-1", {"v": V, "id": "m1", "command": {"type": "set_approve_mode", "mode": "deny"}})
    replies = _comm_replies(kernel, "test-comm-1", lambda r: {"b1", "b2", "m1"} <= {x.get("id") for x in r})
    by_id = {r["id"]: r for r in replies if r.get("type") == "reply"}
    assert by_id["b1"]["ok"] is False and by_id["b1"]["message"] == "budget must be at least 0 (got -5)"
    assert by_id["b2"]["ok"] is True and by_id["m1"]["ok"] is True
    assert kernel.value("agent.session.budget.cap_usd") == 4.0
    assert kernel.value("agent.session.state.approve_mode") == "deny"


def test_a_panel_of_an_older_protocol_gets_a_version_error_and_nothing_happens(kernel: Kernel) -> None:
    kernel.run("%%intern --model scripted:echo --wait\nfirst")
    # Panels before the versioned protocol sent bare messages: hello in the open, then e.g. stop or a prompt.
    _open_comm(kernel, "old-panel", {"type": "hello"})
    _send(kernel, "old-panel", {"type": "prompt", "text": "an old panel's prompt", "cell_id": None})
    replies = _comm_replies(kernel, "old-panel", lambda r: len(r) >= 2)
    assert [r["type"] for r in replies] == ["error", "error"]
    assert all(r["code"] == "version" and "protocol 1" in r["message"] and "reload the page" in r["message"]
               for r in replies)
    time.sleep(0.5)
    assert kernel.value("[e.text for e in agent.session.events if e.kind == 'user_prompt']") == ["first"]
