"""The anywidget inline card, in a real IPython shell: it is the default card, streams the turn's events to its
views, replays them to a view that opens late, and turns a view's clicks into typed commands for the dispatcher.
Clicks go in the way the widget's comm delivers them (`_handle_msg` with a custom message), so the real parser
and dispatcher decide; anything malformed, of another protocol version or not one of the card's buttons does
nothing (fail closed). Static record and fallback: the output carries the escaped record, and without the
bundle (or with MLINTERN_CARDS=ipywidgets) the ipywidgets cards are shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.testing.globalipapp import start_ipython

from mlintern_jupyter.control.commands import PROTOCOL_VERSION
from mlintern_jupyter.jupyter import card_widget
from mlintern_jupyter.jupyter.view import TurnView
from mlintern_jupyter.tools.registry import Tool

pytestmark = pytest.mark.skipif(not card_widget.BUNDLE.is_file(),
                                reason="the card bundle is built by `npm run build` (scripts/setup.sh)")


@pytest.fixture
def ip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.delenv("MLINTERN_CARDS", raising=False)
    shell = start_ipython() or get_ipython()  # noqa: F821 - IPython's global
    shell.run_line_magic("load_ext", "mlintern_jupyter")
    yield shell
    shell.run_line_magic("unload_ext", "mlintern_jupyter")


def _agent(ip):
    return ip.magics_manager.registry["InternMagics"].agent


class Views:
    """What the card's views received: the messages the kernel sent over the widget's comm."""

    def __init__(self, card) -> None:
        self.messages: list[dict] = []
        card.send = lambda content, buffers=None: self.messages.append(content)

    def events(self) -> list[dict]:
        return [e for m in self.messages if m.get("type") == "events" for e in m["events"]]

    def replies(self) -> list[dict]:
        return [m for m in self.messages if m.get("type") == "reply"]


def click(card, command: dict, v: int = PROTOCOL_VERSION, request_id: str = "card-1") -> None:
    """A view's message, as the comm hands it to the widget."""
    content = {"v": v, "id": request_id, "command": command}
    card._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def _pending(ip, tmp_path: Path, ran: list[str]):
    async def risky(script: str) -> str:
        """Run a script."""
        ran.append(script)
        return "ran"

    agent = _agent(ip)
    agent.extra_tools.append(Tool.from_function(risky))
    model = tmp_path / "m.json"
    model.write_text(json.dumps([
        {"text": "**Checking** first.", "tool_calls": [{"name": "risky", "arguments": {"script": "print(1)"}}]},
        "finished"]))
    ip.run_cell_magic("intern", f"--model scripted:{model} --wait", "go")
    card = agent.view.card
    assert card is not None, "the anywidget card is the default"
    (pending,) = agent.session.approvals.pending()
    return agent, card, pending


def _finish(agent) -> None:
    for future, _ in agent.futures:
        future.result(timeout=10)


def test_the_card_is_the_default_and_replays_the_turn_to_a_late_view(ip, tmp_path) -> None:
    agent, card, pending = _pending(ip, tmp_path, [])
    from anywidget import AnyWidget

    assert isinstance(card, AnyWidget)
    assert "mlintern-inline-card" in card.get_state()["_esm"]  # the bundled panel views, shipped in the package
    views = Views(card)
    card._handle_msg({"content": {"data": {"method": "custom", "content": {"type": "history"}}}, "buffers": []})
    kinds = [e["kind"] for e in views.events()]
    assert kinds[:1] == ["user_prompt"] and "approval_requested" in kinds
    requested = next(e for e in views.events() if e["kind"] == "approval_requested")
    assert requested["nonce"] == pending.nonce and requested["action"]["script"] == "print(1)"
    # Markdown reaches the views as the model wrote it: the panel's renderer (sanitizing) shows it.
    assert any(e.get("text") == "**Checking** first." for e in views.events())
    # No event list rides the widget state: a saved notebook keeps only the static record for readers.
    assert set(card.get_state()) >= {"turn_id", "model", "offline"} and "history" not in card.get_state()
    bundle = agent.view.bundle()
    assert "text/html" in bundle and "approval for risky" in bundle["text/plain"]


def test_approve_from_the_card_runs_the_action_once(ip, tmp_path) -> None:
    ran: list[str] = []
    agent, card, pending = _pending(ip, tmp_path, ran)
    views = Views(card)
    click(card, {"type": "approve", "nonce": pending.nonce})
    _finish(agent)
    assert ran == ["print(1)"]
    assert views.replies()[0]["ok"] is True and views.replies()[0]["id"] == "card-1"
    # Live events reached the views: the decision and the result.
    kinds = [e["kind"] for e in views.events()]
    assert "approval_resolved" in kinds and "tool_result" in kinds and kinds[-1] == "turn_ended"
    # A second click (a stale view, a double click) is refused by the dispatcher: the nonce is used.
    click(card, {"type": "approve", "nonce": pending.nonce}, request_id="card-2")
    assert views.replies()[-1]["ok"] is False
    assert ran == ["print(1)"]


def test_deny_with_feedback_from_the_card_runs_nothing(ip, tmp_path) -> None:
    ran: list[str] = []
    agent, card, pending = _pending(ip, tmp_path, ran)
    Views(card)
    click(card, {"type": "deny", "nonce": pending.nonce, "feedback": "use a smaller GPU"})
    _finish(agent)
    assert ran == []
    result = next(e for e in agent.session.events if e.kind == "tool_result")
    assert result.status == "denied" and "use a smaller GPU" in result.content


@pytest.mark.parametrize("message", [
    {"v": PROTOCOL_VERSION - 1, "command": {"type": "approve"}},          # another protocol version
    {"v": PROTOCOL_VERSION, "command": {"type": "approve"}},              # no nonce
    {"v": PROTOCOL_VERSION, "command": {"type": "approve", "nonce": "forged"}},  # not a pending nonce
    {"v": PROTOCOL_VERSION, "command": {"type": "set_approve_mode", "mode": "auto"}},  # not a card button
    {"v": PROTOCOL_VERSION, "command": {"type": "set_budget", "usd": 1000}},
    {"v": PROTOCOL_VERSION, "command": {"type": "prompt", "text": "approve everything"}},
    "approve",
])
def test_anything_but_a_card_command_for_a_pending_nonce_does_nothing(ip, tmp_path, message) -> None:
    ran: list[str] = []
    agent, card, pending = _pending(ip, tmp_path, ran)
    views = Views(card)
    mode, budget = agent.session.config.approve_mode, agent.session.config.budget_usd
    card._handle_msg({"content": {"data": {"method": "custom", "content": message}}, "buffers": []})
    assert views.replies() and views.replies()[-1]["ok"] is False
    assert agent.session.approvals.pending() == [pending]
    assert (agent.session.config.approve_mode, agent.session.config.budget_usd) == (mode, budget)
    assert ran == []


def test_stop_from_the_card_reaches_the_dispatcher(ip, tmp_path) -> None:
    agent, card, pending = _pending(ip, tmp_path, [])
    views = Views(card)
    click(card, {"type": "stop", "turn_id": agent.view.turn_id})
    # The --wait turn already ended (awaiting approval): the dispatcher's own answer comes back to the card.
    assert views.replies()[-1]["ok"] is False and "nothing" in views.replies()[-1]["message"].lower()


def test_streamed_text_is_batched_and_the_final_message_always_lands() -> None:
    from mlintern_jupyter.agent import events as ev

    view = TurnView(renderer="anywidget", model="demo", offline=True)
    views = Views(view.card)
    for piece in ["a", "b", "c", "d"]:
        view.update(ev.AssistantDelta(text=piece))
    view.update(ev.AssistantMessage(text="abcd", seq=2))
    sent = views.events()
    assert len([e for e in sent if e["kind"] == "assistant_delta"]) < 4  # batched, not one message a token
    assert "".join(e["text"] for e in sent if e["kind"] == "assistant_delta") in ("a", "ab", "abc", "abcd")
    assert sent[-1] == {**sent[-1], "kind": "assistant_message", "text": "abcd"}
    # Streaming text is not history: a view opened later gets the final message only.
    assert [e["kind"] for e in view.card.history] == ["assistant_message"]


def test_fallback_to_the_ipywidgets_cards(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("MLINTERN_CARDS", "ipywidgets")
    assert card_widget.card_renderer() == "ipywidgets"
    monkeypatch.delenv("MLINTERN_CARDS")
    assert card_widget.card_renderer() == "anywidget"
    monkeypatch.setattr(card_widget, "BUNDLE", tmp_path / "missing.js")  # an install without the built bundle
    assert card_widget.card_renderer() == "ipywidgets"
    view = TurnView(renderer="auto")
    assert view.card is None and view.stop_button.description == "Stop"
