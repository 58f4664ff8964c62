"""The approval card: the exact action, its hash, worst-case cost, budget left, expiry, and the answers.

Each button sends a typed command (Approve, Deny, ApproveForSession, EditInCell) to the notebook's dispatcher,
the same commands the side panel and the magics send. "Edit in a cell" puts the script in a new cell headed
`%%intern approve NONCE`: running that cell approves exactly what it holds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import ipywidgets as widgets

from ..agent import events as ev
from ..agent.allow_list import session_shape
from ..agent.approval import ActionSpec
from ..control import commands as c
from .cards import demo_badge, esc

Send = Callable[[Any], c.Reply]


def _session_shape(request: ev.ApprovalRequested) -> str | None:
    try:
        return session_shape(ActionSpec.model_validate(request.action))
    except ValueError:
        return None


def _expiry_text(expires_at: str, now: datetime | None = None) -> str:
    try:
        when = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    except ValueError:
        return "unknown expiry"
    left = (when - (now or datetime.now(UTC))).total_seconds()
    if left <= 0:
        return "expired"
    return f"expires in {int(left // 60)} min {int(left % 60)} s (at {when:%H:%M:%S} UTC)"


class ApprovalCard:
    def __init__(self, request: ev.ApprovalRequested, send: Send, offline: bool = False) -> None:
        self.request = request
        self.nonce = request.nonce
        self.call_id = request.call_id
        self.send = send
        self.offline = offline
        self.decision: str | None = None
        # One answer per card: a double click (or a stale view) must not send a second one.
        self.sent = False
        self.script = request.action.get("script") if isinstance(request.action.get("script"), str) else None
        self.header = widgets.HTML()
        self.action = widgets.HTML()
        self.approve_button = widgets.Button(description="Approve", button_style="success", icon="check")
        self.deny_button = widgets.Button(description="Deny", button_style="danger", icon="times")
        self.edit_button = widgets.Button(description="Edit in a cell", icon="edit", disabled=self.script is None)
        # Offered only for plain read-only bash commands (allow_list.py), binding the exact shape it names.
        self.shape = _session_shape(request)
        self.session_button = widgets.Button(
            description=f"Approve `{self.shape}` for this session" if self.shape else "Approve for this session",
            icon="check-double", layout=widgets.Layout(width="auto", display="" if self.shape else "none"),
            disabled=self.shape is None)
        self.feedback = widgets.Textarea(placeholder="Why deny? (sent to the agent)", rows=2,
                                         layout=widgets.Layout(width="100%"))
        self.status = widgets.Label(value="")
        # Where the edited cell text is shown when no frontend extension can insert it.
        self.edit_text = widgets.Textarea(disabled=True, layout=widgets.Layout(width="100%", display="none"))
        self.approve_button.on_click(lambda _b: self._decide("approve"))
        self.deny_button.on_click(lambda _b: self._decide("deny"))
        self.edit_button.on_click(lambda _b: self._edit_clicked())
        self.session_button.on_click(lambda _b: self._decide("approve", for_session=True))
        self.widget = widgets.VBox([
            self.header, self.action,
            widgets.HBox([self.approve_button, self.deny_button, self.edit_button, self.session_button]),
            self.feedback, self.status, self.edit_text,
        ], layout=widgets.Layout(border="1px solid #d4a72c", padding="4px"))
        self.render()
        self._schedule_tick()

    # The expiry countdown refreshes on its own while the card waits; a daemon timer, so it never holds the kernel.
    TICK_S = 15.0

    def _schedule_tick(self) -> None:
        if self.decision is None and _expiry_text(self.request.expires_at) != "expired":
            timer = threading.Timer(self.TICK_S, self._tick)
            timer.daemon = True
            timer.start()

    def _tick(self) -> None:
        if self.decision is not None:
            return
        self.render()
        if _expiry_text(self.request.expires_at) == "expired":
            self._disable()
            self.status.value = "expired: nothing ran"
            return
        self._schedule_tick()

    @property
    def buttons(self) -> list[widgets.Button]:
        return [self.approve_button, self.deny_button, self.edit_button, self.session_button]

    def render(self, now: datetime | None = None) -> None:
        r = self.request
        cost = "unknown (never auto-approved)" if r.cost_usd is None else f"${r.cost_usd:.2f} worst case"
        left = "no cap" if r.budget_left_usd is None else f"${r.budget_left_usd:.2f} left"
        self.header.value = (
            f"<b>Approval needed: {esc(r.tool)}</b>{demo_badge(self.offline)} · {esc(r.reason)}<br>"
            f"cost {esc(cost)} · budget {esc(left)} · {esc(_expiry_text(r.expires_at, now))} · "
            f"action sha256 <code>{esc(r.action_sha256[:12])}</code>"
        )
        shown = {k: v for k, v in r.action.items() if k != "script" and v not in ("", None, [], "{}")}
        rows = "".join(f"<tr><td>{esc(k)}</td><td><code>{esc(v)}</code></td></tr>" for k, v in shown.items())
        script = (f"<details open><summary>script</summary><pre style='max-height:24em;overflow:auto'>"
                  f"{esc(self.script)}</pre></details>") if self.script is not None else ""
        checks = "".join(f"<li>{esc(c)}</li>" for c in r.checks)
        warnings = f"<div><b>Pre-launch checks</b> (warnings, not blocks):<ul>{checks}</ul></div>" if checks else ""
        self.action.value = f"{warnings}<table>{rows}</table>{script}"

    def _disable(self) -> None:
        for button in self.buttons:
            button.disabled = True
        self.feedback.disabled = True

    def _decide(self, decision: str, for_session: bool = False) -> None:
        # A disabled card (decided, expired) sends nothing, even to a programmatic click.
        if self.decision is not None or self.sent or self.approve_button.disabled:
            return
        self.sent = True
        if for_session:
            command: Any = c.ApproveForSession(nonce=self.nonce)
        elif decision == "deny":
            command = c.Deny(nonce=self.nonce, feedback=self.feedback.value)
        else:
            command = c.Approve(nonce=self.nonce)
        reply = self.send(command)
        self.status.value = f"{decision} sent" if reply.ok else reply.message
        self._disable()

    def _edit_clicked(self) -> None:
        if self.script is None:
            return
        reply = self.send(c.EditInCell(nonce=self.nonce))
        source = (reply.data or {}).get("source") or c.edit_cell_source(self.nonce, self.script)
        self.edit_text.value = source
        self.edit_text.layout.display = ""
        self.status.value = ("The script is in a new cell below (or copy the text above into one). Edit it and run "
                             "that cell to approve what it holds." if reply.ok else reply.message)

    def update(self, event: ev.Event) -> None:
        match event:
            case ev.ApprovalResolved(decision=decision, by=by, feedback=feedback):
                self.decision = decision
                self._disable()
                extra = f": {feedback}" if feedback else ""
                self.status.value = f"{decision} by {by}{extra}"
            case _:
                self.render()
