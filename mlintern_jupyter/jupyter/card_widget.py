"""The inline card as an anywidget: the side panel's own views (bundled from `labextension/src/widget.ts` into
`mlintern_jupyter/static/card.js`) rendering the turn's events, so the cell and the panel show one implementation.

The kernel keeps the turn's events and streams each new one to the card's views as a custom message; a view
asks for the history when it opens (a reload, a second view of the same output), so no event list rides the
widget state (a notebook saved with widget state stays small and its static record stays what readers see).
A click comes back as a versioned command `{v, id, command}`, parsed by the panel comm's parser and limited to
the card's own buttons (a card cannot change the model, mode or budget); the dispatcher does the rest (nonce,
hash and expiry checks: fail closed). Where anywidget or the bundle is missing, `TurnView` falls back to the
ipywidgets cards (`cards.py`), and a front end without widgets shows the static record.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..agent import events as ev
from ..control import commands as c
from ..control.commands import CommandError, parse_message

STATIC = Path(__file__).resolve().parents[1] / "static"
BUNDLE = STATIC / "card.js"
STYLES = STATIC / "card.css"
# Commands an inline card may send: its own buttons. Settings and prompts come from the magics and the panel.
CARD_COMMANDS = frozenset({"approve", "deny", "approve_for_session", "edit_in_cell", "insert_cell", "cancel_job",
                           "stop"})
# Streamed text reaches the views at most this often (the final message always lands), as with the ipywidgets card.
DELTA_FLUSH_S = 0.1

Send = Callable[[Any], c.Reply]


def card_renderer() -> str:
    """Which inline card to build: `anywidget` when it can render, else `ipywidgets` (MLINTERN_CARDS overrides)."""
    chosen = os.environ.get("MLINTERN_CARDS", "auto").strip().lower()
    if chosen == "ipywidgets":
        return "ipywidgets"
    available = BUNDLE.is_file() and importlib.util.find_spec("anywidget") is not None
    return "anywidget" if available else "ipywidgets"


def make_card(send: Send, *, turn_id: str, model: str, offline: bool) -> Any:
    """An InlineCard (built here so `anywidget` is imported only when a card is shown)."""
    import anywidget
    import traitlets

    class InlineCard(anywidget.AnyWidget):  # type: ignore[misc]
        _esm = BUNDLE
        _css = STYLES
        turn_id = traitlets.Unicode("").tag(sync=True)
        model = traitlets.Unicode("").tag(sync=True)
        offline = traitlets.Bool(False).tag(sync=True)

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.dispatch = send
            self.history: list[dict[str, Any]] = []
            self._pending_delta = ""
            self._last_flush = 0.0
            self.on_msg(self._received)

        # ---- kernel -> views ----------------------------------------------------------------------

        def push(self, event: ev.Event) -> None:
            if isinstance(event, ev.AssistantDelta):
                self._pending_delta += event.text
                now = time.monotonic()
                if now - self._last_flush < DELTA_FLUSH_S:
                    return
                self._last_flush = now
                data = {**event.to_dict(), "text": self._pending_delta}
                self._pending_delta = ""
                self._send_events([data])  # streaming text is not history: the final message replaces it
                return
            if isinstance(event, ev.AssistantMessage):
                self._pending_delta = ""
            data = event.to_dict()
            self.history.append(data)
            self._send_events([data])

        def _send_events(self, events: list[dict[str, Any]]) -> None:
            try:
                self.send({"type": "events", "events": events})
            except Exception:  # noqa: BLE001 - a closed view must not stop the agent
                return

        # ---- views -> kernel ----------------------------------------------------------------------

        def _received(self, _widget: Any, content: Any, _buffers: Any) -> None:
            if isinstance(content, dict) and content.get("type") == "history":
                self._send_events(list(self.history))
                return
            self.send(self.answer(content))

        def answer(self, content: Any) -> dict[str, Any]:
            """The reply to one message from a view; nothing is dispatched unless it parses as a card command."""
            request_id = content.get("id") if isinstance(content, dict) else None
            try:
                _, command = parse_message(content)
            except CommandError as exc:
                return {"type": "reply", "id": request_id, "ok": False, "message": str(exc)}
            if command.type not in CARD_COMMANDS:
                return {"type": "reply", "id": request_id, "ok": False,
                        "message": f"an inline card cannot send {command.type}"}
            reply = self.dispatch(command)
            return {"type": "reply", "id": request_id, "ok": reply.ok, "message": reply.message}

    return InlineCard(turn_id=turn_id, model=model, offline=offline)
