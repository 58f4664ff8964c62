"""TurnView: the cards under one `%%intern` cell, fed by `update(event)`, plus a static record for kernel-less reading.

The output carries the widget and, beside it, escaped `text/html` and `text/plain` summaries that are refreshed
when the turn ends, so a notebook reopened without a kernel (or on GitHub) still reads as a record.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..agent import events as ev
from ..control import commands as c
from .approval_card import ApprovalCard
from .card_widget import card_renderer, make_card
from .cards import AssistantTextCard, FooterCard, JobCard, PlanCard, ToolCard, esc, short_args

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


Send = Callable[[Any], c.Reply]


def _ignore(command: Any) -> c.Reply:
    return c.Reply(ok=False, message="not connected to a session")


class CellCard:
    """A script the agent put in a new cell: shown as text, saved under scripts/, never executed."""

    def __init__(self, event: ev.CellInsert, send: Send) -> None:
        self.source = event.source
        self.send = send
        self.command = c.InsertCell(session_id=event.session_id or "-", call_id=event.call_id)
        self.button = widgets.Button(description="Insert below", icon="plus")
        self.button.on_click(lambda _b: self._insert())
        where = f"saved as {esc(event.script_path)} (load it into a cell with <code>%load {esc(event.script_path)}</code>)" \
            if event.script_path else ""
        self.header = widgets.HTML(f"<b>New {esc(event.cell_type)} cell</b> · {where}")
        self.text = widgets.HTML(f"<pre style='max-height:16em;overflow:auto'>{esc(event.source)}</pre>")
        self.status = widgets.Label(value="")
        self.widget = widgets.VBox([self.header, self.text, widgets.HBox([self.button, self.status])])

    def _insert(self) -> None:
        self.status.value = self.send(self.command).message

    def update(self, event: ev.Event) -> None:
        if isinstance(event, ev.CellPlaced) and event.how != "missing":
            self.status.value = f"placed in the notebook by the {event.by}"
            self.button.disabled = True  # one copy per insertion


class TurnView:
    """Every button of every card sends a typed command through `send` (the notebook's dispatcher).

    `renderer`: `anywidget` shows the side panel's views in the cell (`card_widget.py`); `ipywidgets` the
    Python-built cards below (the fallback where anywidget or its bundle is missing, or MLINTERN_CARDS=ipywidgets).
    """

    def __init__(self, *, offline: bool = False, model: str = "", effort: str | None = None, session_id: str = "",
                 send: Send | None = None, renderer: str = "ipywidgets") -> None:
        self.offline = offline
        self.send: Send = send if send is not None else _ignore
        self.turn_id = uuid.uuid4().hex
        self.session_id = session_id
        self.anchor: str | None = None
        self.events: list[ev.Event] = []
        self.cells: dict[str, CellCard] = {}
        self.tools: dict[str, ToolCard] = {}
        self.approvals: dict[str, ApprovalCard] = {}
        self.jobs: dict[str, JobCard] = {}
        self.plan: PlanCard | None = None
        self.text: AssistantTextCard | None = None
        self.ended: ev.TurnEnded | None = None
        self.handle: Any = None
        self.card: Any = None
        if renderer == "auto":
            renderer = card_renderer()
        if renderer == "anywidget":
            self.card = make_card(self.send, turn_id=self.turn_id, model=model, offline=offline)
            self.widget = self.card
            return
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop")
        self.stop_button.on_click(lambda _b: self._stop())
        label = f"mlintern · {model}" + (" · demo model (offline, scripted)" if offline else "")
        self.title = widgets.HTML(f"<span style='color:#57606a'>{esc(label)}</span>")
        self.footer = FooterCard(offline, effort)
        self.body = widgets.VBox([])
        self.widget = widgets.VBox([widgets.HBox([self.stop_button, self.title]), self.body, self.footer.widget])

    # ---- cards --------------------------------------------------------------------------------------

    def _stop(self) -> None:
        self.stop_button.description = "Stopping…"
        self.stop_button.disabled = True
        reply = self.send(c.Stop(turn_id=self.turn_id))
        if not reply.ok:
            self.stop_button.description = "Stop"
            self.stop_button.disabled = self.ended is not None

    def _add(self, widget: widgets.Widget) -> None:
        self.body.children = (*self.body.children, widget)

    def _message(self, text: str, colour: str) -> None:
        self._add(widgets.HTML(f"<div style='color:{colour};white-space:pre-wrap'>{esc(text)}</div>"))

    def update(self, event: ev.Event) -> None:
        if event.kind not in ("assistant_delta", "retry_wait"):
            self.events.append(event)
        if self.card is not None:
            self.card.push(event)
            if isinstance(event, ev.TurnEnded):
                self.ended = event
                self.refresh_static()
            return
        match event:
            case ev.AssistantDelta() | ev.AssistantMessage():
                if self.text is None:
                    self.text = AssistantTextCard(self.offline)
                    self._add(self.text.widget)
                self.text.update(event)
                if isinstance(event, ev.AssistantMessage):
                    self.text = None
            case ev.ToolCall(call_id=call_id):
                card = ToolCard(event, self.offline)
                self.tools[call_id] = card
                self._add(card.widget)
            case ev.ApprovalRequested(nonce=nonce, call_id=call_id):
                card = ApprovalCard(event, self.send, self.offline)
                self.approvals[nonce] = card
                self._add(card.widget)
                if call_id in self.tools:
                    self.tools[call_id].update(event)
            case ev.ApprovalResolved(nonce=nonce, call_id=call_id):
                if nonce in self.approvals:
                    self.approvals[nonce].update(event)
                if call_id in self.tools:
                    self.tools[call_id].update(event)
            case ev.ToolOutput(job_id=job_id) if job_id and job_id in self.jobs:
                self.jobs[job_id].update(event)
            case ev.JobMetrics(job_id=job_id) if job_id in self.jobs:
                self.jobs[job_id].update(event)
            case (ev.ToolStarted(call_id=call_id) | ev.ToolOutput(call_id=call_id) | ev.ToolResult(call_id=call_id)
                  | ev.SubagentProgress(call_id=call_id)):
                if call_id in self.tools:
                    self.tools[call_id].update(event)
            case ev.JobUpdated(job_id=job_id):
                if job_id not in self.jobs:
                    self.jobs[job_id] = JobCard(event, self.send)
                    self._add(self.jobs[job_id].widget)
                self.jobs[job_id].update(event)
            case ev.PlanUpdated():
                if self.plan is None:
                    self.plan = PlanCard()
                    self._add(self.plan.widget)
                self.plan.update(event)
            case ev.CellInsert(call_id=call_id):
                self.cells[call_id] = CellCard(event, self.send)
                self._add(self.cells[call_id].widget)
            case ev.CellPlaced(call_id=call_id) if call_id in self.cells:
                self.cells[call_id].update(event)
            case ev.Error(message=message, hint=hint):
                self._message(f"Error: {message}" + (f"\nHint: {hint}" if hint else ""), "#cf222e")
            case ev.Notice(message=message) | ev.GuardFired(message=message):
                self._message(message, "#9a6700")
            case ev.PromptQueued() | ev.UserPrompt() | ev.Usage() | ev.EffortChanged() | ev.RetryWait():
                self.footer.update(event)
            case ev.EffortFallback():
                self.footer.update(event)
            case ev.TurnEnded(reason=reason, message=message):
                self.ended = event
                self.footer.update(event)
                self.stop_button.disabled = True
                self.stop_button.description = "Stopped" if reason == "cancelled" else "Ended"
                if reason not in ("done",) and message:
                    self._message(f"Turn ended ({reason}): {message}", "#57606a")
                self.refresh_static()

    # ---- output -------------------------------------------------------------------------------------

    def bundle(self) -> dict[str, Any]:
        data: dict[str, Any] = {WIDGET_MIME: {"version_major": 2, "version_minor": 0,
                                              "model_id": self.widget.model_id}}
        text, markup = static_record(self.events, self.offline)
        data["text/plain"] = text
        data["text/html"] = markup
        return data

    def metadata(self) -> dict[str, Any]:
        """Read by a headless writer (nbclient, papermill, `mlintern run`): which session and anchor this cell is."""
        return {"mlintern": {"session_id": self.session_id, "anchor": self.anchor, "turn_id": self.turn_id}}

    def display(self, anchor: str | None = None) -> None:
        from IPython.display import display

        self.anchor = anchor
        self.handle = display(self.bundle(), raw=True, display_id=True, metadata=self.metadata())

    def refresh_static(self) -> None:
        if self.handle is not None:
            self.handle.update(self.bundle(), raw=True, metadata=self.metadata())


def static_record(events: list[ev.Event], offline: bool = False) -> tuple[str, str]:
    """The turn as plain text and as escaped HTML: what a reader without a kernel sees."""
    lines: list[str] = ["[mlintern" + (" · demo model" if offline else "") + "]"]
    for event in events:
        match event:
            case ev.UserPrompt(text=text):
                lines.append(f"> {text}")
            case ev.PromptQueued(text=text, position=position):
                lines.append(f"(queued #{position}) {text}")
            case ev.AssistantMessage(text=text) if text:
                lines.append(text)
            case ev.ToolCall(tool=tool, arguments=arguments):
                lines.append(f"· {tool}({short_args(arguments, 80)})")
            case ev.SubagentProgress(agent=agent, step="tool_call", tool=tool, text=text):
                lines.append(f"    {agent} · {tool}({text[:80]})")
            case ev.ToolResult(tool=tool, status=status, duration_s=duration):
                lines.append(f"  {tool}: {status} ({duration:.1f}s)")
            case ev.ApprovalRequested(tool=tool, action_sha256=sha, cost_usd=cost):
                lines.append(f"? approval for {tool} (sha256 {sha[:12]}, cost {cost if cost is not None else 'unknown'})")
            case ev.ApprovalResolved(decision=decision, by=by):
                lines.append(f"  approval {decision} by {by}")
            case ev.CellInsert(source=source, script_path=path):
                lines.append(f"+ new cell ({path or 'unsaved'}): {source.splitlines()[0] if source else ''}")
            case ev.Error(message=message):
                lines.append(f"! {message}")
            case ev.TurnEnded(reason=reason):
                lines.append(f"[turn ended: {reason}]")
    text = "\n".join(lines)
    return text, f"<pre class='mlintern-static' style='white-space:pre-wrap'>{esc(text)}</pre>"
