"""Cards: one small ipywidgets view per thing the agent does, each with `update(event)`.

Every string that came from the model, a tool or a job is escaped before it enters an HTML widget (or shown in a
plain-text widget): an `<img onerror>` in model output must show as text, never run.
"""

from __future__ import annotations

import html
import json
import time
from typing import Any

import ipywidgets as widgets

from ..agent import events as ev
from ..agent.state import MAX_METRIC_POINTS

# Streamed text reaches the frontend at most this often; the final message always lands.
TEXT_FLUSH_S = 0.1
RESULT_PREVIEW_CHARS = 4_000
LOG_TAIL_LINES = 15
# Sub-agent steps kept on a card (a deep research crawl makes dozens): the latest ones.
MAX_STEPS = 60


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def short_args(arguments: Any, limit: int = 120) -> str:
    if isinstance(arguments, dict):
        text = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in arguments.items())
    else:
        text = str(arguments)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def demo_badge(offline: bool) -> str:
    return ' <span class="mlintern-demo" style="color:#a15c00">[demo model]</span>' if offline else ""


class AssistantTextCard:
    """The assistant's text, streamed; widget updates batched to at most ~10 a second."""

    def __init__(self, offline: bool = False, clock: Any = time.monotonic) -> None:
        self.offline = offline
        self.clock = clock
        self.text = ""
        self._last_flush = 0.0
        self.widget = widgets.HTML(value="")

    def _render(self) -> None:
        self.widget.value = (f'<div class="mlintern-text" style="white-space:pre-wrap">{esc(self.text)}'
                             f"{demo_badge(self.offline)}</div>") if self.text else ""

    def update(self, event: ev.Event) -> None:
        match event:
            case ev.AssistantDelta(text=text):
                self.text += text
                now = self.clock()
                if now - self._last_flush >= TEXT_FLUSH_S:
                    self._last_flush = now
                    self._render()
            case ev.AssistantMessage(text=text):
                self.text = text
                self._render()


class ToolCard:
    """One tool call: name, short arguments, status, duration and a collapsible result."""

    def __init__(self, call: ev.ToolCall, offline: bool = False) -> None:
        self.call_id = call.call_id
        self.tool = call.tool
        self.args = short_args(call.arguments)
        self.offline = offline
        self.status = "queued"
        self.duration: float | None = None
        self.result = ""
        self.output_tail: list[str] = []
        # Steps of a sub-agent running inside this call (research): one collapsible list, not a card per step.
        self.steps: list[ev.SubagentProgress] = []
        self.step_count = 0
        self.widget = widgets.HTML()
        self._render()

    def _steps_html(self) -> str:
        if not self.steps:
            return ""
        calls = sum(1 for s in self.steps if s.step == "tool_call")
        marks = {"tool_call": "▸", "tool_result": "✓", "notice": "!", "started": "●", "ended": "■"}
        failed = ' <span style="color:#cf222e">(failed)</span>'
        items = "".join(
            f"<li style='list-style:none'>{marks.get(s.step, '·')} "
            f"{'<b>' + esc(s.tool) + '</b> ' if s.tool else ''}{esc(s.text)}{'' if s.ok else failed}</li>"
            for s in self.steps)
        hidden = f"<li style='list-style:none'>… {self.step_count - len(self.steps)} earlier steps</li>" \
            if self.step_count > len(self.steps) else ""
        return (f"<details class='mlintern-subagent'><summary>{esc(self.steps[0].agent)}: {calls} tool calls, "
                f"{self.step_count} steps</summary><ul style='margin:0;padding-left:1em'>{hidden}{items}</ul>"
                "</details>")

    def _render(self) -> None:
        colour = {"ok": "#1a7f37", "running": "#0969da", "error": "#cf222e", "denied": "#cf222e",
                  "aborted": "#9a6700", "invalid": "#cf222e"}.get(self.status, "#57606a")
        duration = f" · {self.duration:.1f}s" if self.duration is not None else ""
        body = self.result or "\n".join(self.output_tail)
        details = (f"<details><summary>result</summary><pre style='white-space:pre-wrap;max-height:20em;overflow:auto'>"
                   f"{esc(body[:RESULT_PREVIEW_CHARS])}</pre></details>") if body else ""
        self.widget.value = (
            f'<div class="mlintern-tool"><b>{esc(self.tool)}</b> <code>{esc(self.args)}</code> '
            f'<span style="color:{colour}">{esc(self.status)}</span>{duration}{demo_badge(self.offline)}'
            f"{self._steps_html()}{details}</div>"
        )

    def update(self, event: ev.Event) -> None:
        match event:
            case ev.ToolStarted():
                self.status = "running"
            case ev.ApprovalRequested():
                self.status = "awaiting approval"
            case ev.ApprovalResolved(decision=decision):
                self.status = "approved" if decision == "approved" else decision
            case ev.ToolOutput(text=text):
                self.output_tail = (self.output_tail + text.splitlines())[-LOG_TAIL_LINES:]
            case ev.ToolResult(status=status, content=content, duration_s=duration):
                self.status, self.result, self.duration = status, content, duration
            case ev.SubagentProgress():
                self.step_count += 1
                self.steps = (self.steps + [event])[-MAX_STEPS:]
            case _:
                return
        self._render()


class PlanCard:
    def __init__(self) -> None:
        self.todos: list[dict[str, Any]] = []
        self.widget = widgets.HTML()

    def update(self, event: ev.Event) -> None:
        if isinstance(event, ev.PlanUpdated):
            self.todos = list(event.todos)
            marks = {"completed": "☑", "in_progress": "▶"}
            items = "".join(f"<li style='list-style:none'>{marks.get(str(t.get('status')), '☐')} "
                            f"{esc(t.get('content', ''))}</li>" for t in self.todos)
            self.widget.value = f"<div class='mlintern-plan'><b>Plan</b><ul>{items}</ul></div>"


class FooterCard:
    """Tokens, cache-hit share, cost and reasoning effort; the Stop button sits beside it from the first instant."""

    def __init__(self, offline: bool = False, effort: str | None = None) -> None:
        self.offline = offline
        self.prompt_tokens = self.completion_tokens = self.cache_read = 0
        self.cost = 0.0
        # Calls whose price is unknown: shown as "cost unknown", never added as $0.00.
        self.unpriced = 0
        self.effort = effort
        # What the current model accepted, when it took less than `effort` ("" = no fallback).
        self.model_effort: str | None = ""
        self.state = "starting"
        self.widget = widgets.HTML()
        self._render()

    def _render(self) -> None:
        share = self.cache_read / self.prompt_tokens if self.prompt_tokens else 0.0
        cost = f"${self.cost:.4f}"
        if self.unpriced:
            cost = f"{cost} + cost unknown" if self.cost else "cost unknown"
        self.widget.value = (
            f"<span class='mlintern-footer' style='color:#57606a'>{esc(self.state)} · "
            f"{self.prompt_tokens:,} in / {self.completion_tokens:,} out tokens · cache hits {share:.0%} · "
            f"{esc(cost)} · effort {esc(self._effort())}{' · demo model' if self.offline else ''}</span>"
        )

    def _effort(self) -> str:
        if self.model_effort == "" or not self.effort:
            return self.effort or "none"
        return f"{self.effort} (this model: {self.model_effort or 'none'})"

    def update(self, event: ev.Event) -> None:
        match event:
            case ev.Usage(cost_usd=cost):
                self.prompt_tokens += event.prompt_tokens
                self.completion_tokens += event.completion_tokens
                self.cache_read += event.cache_read_tokens
                if cost is None:
                    self.unpriced += 1
                else:
                    self.cost += cost
                self.state = "running"
            case ev.UserPrompt():
                self.state = "running"
            case ev.EffortChanged(effort=effort):
                self.effort = effort
            case ev.EffortFallback(effective=effective):
                self.model_effort = effective
            case ev.RetryWait(seconds_left=left, reason=reason):
                self.state = f"retrying in {left} s ({reason}); Stop cancels" if left else "running"
            case ev.PromptQueued(position=position):
                self.state = f"queued (#{position})"
            case ev.TurnEnded(reason=reason):
                self.state = {"done": "done", "awaiting_approval": "waiting for approval"}.get(reason, reason)
            case _:
                return
        self._render()


def svg_polyline(values: list[float], width: int = 220, height: int = 60) -> str:
    """A tiny inline plot made from numbers only (so nothing from the log can inject markup)."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - (v - low) / span * height:.1f}" for i, v in enumerate(values))
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" style="border:1px solid #d0d7de">'
            f'<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="{points}"/></svg>')


class JobCard:
    """A job: status, elapsed time, live log tail, cost so far, Cancel, and a plot of logged metrics."""

    def __init__(self, job: ev.JobUpdated, send: Any = None, clock: Any = time.monotonic) -> None:
        self.job_id = job.job_id
        self.call_id = job.call_id
        self.clock = clock
        self.started = clock()
        self.status = job.status
        self.cost = job.cost_usd
        self.hardware = job.hardware
        self.url = job.url
        self.trackio_project, self.dashboard_url = job.trackio_project, job.dashboard_url
        self.lines: list[str] = []
        self.metrics: dict[str, list[float]] = {}
        # Cancel sends CancelJob to the notebook's dispatcher, as the panel does (the session cancels the job).
        self.send = send
        # Once trackio's own record arrives it replaces the numbers parsed from the log (the fallback).
        self.from_trackio = False
        self.header = widgets.HTML()
        self.log = widgets.Textarea(value="", disabled=True, layout=widgets.Layout(width="100%", height="10em"))
        self.plot = widgets.HTML()
        self.cancel_button = widgets.Button(description="Cancel job", button_style="warning")
        self.cancel_button.on_click(self._cancel)
        self.cancel_status = widgets.Label(value="")
        self.widget = widgets.VBox([self.header, self.log, self.plot,
                                    widgets.HBox([self.cancel_button, self.cancel_status])])
        self._render_header()

    def _cancel(self, _button: Any = None) -> None:
        from ..control.commands import CancelJob

        if self.cancel_button.disabled or self.send is None:
            return
        self.cancel_button.disabled = True
        reply = self.send(CancelJob(job_id=self.job_id))
        self.cancel_status.value = reply.message
        if not reply.ok:
            self.cancel_button.disabled = False

    def _render_header(self) -> None:
        elapsed = self.clock() - self.started
        hardware = f" on {esc(self.hardware)}" if self.hardware else ""
        cost = "cost unknown (its worst case is charged)" if self.cost is None else f"${self.cost:.2f} so far"
        tracking = ""
        if self.dashboard_url.startswith("https://"):
            tracking = f' · <a href="{esc(self.dashboard_url)}" target="_blank" rel="noopener">trackio dashboard</a>'
        elif self.trackio_project:
            tracking = f" · trackio project <code>{esc(self.trackio_project)}</code>"
        self.header.value = (f"<b>job {esc(self.job_id)}</b>{hardware} · {esc(self.status)} · {elapsed:.0f}s elapsed"
                             f" · {cost}{tracking}")

    def _render_plot(self) -> None:
        parts = []
        for name, values in list(self.metrics.items())[:3]:
            if name in ("step", "epoch") or len(values) < 2:
                continue
            parts.append(f"<div>{esc(name)}: {values[-1]:.4g}<br>{svg_polyline(values)}</div>")
        self.plot.value = "<div style='display:flex;gap:1em'>" + "".join(parts) + "</div>" if parts else ""

    def update(self, event: ev.Event) -> None:
        match event:
            case ev.JobUpdated(status=status, cost_usd=cost):
                self.status, self.cost = status, cost
                self.trackio_project = event.trackio_project or self.trackio_project
                self.dashboard_url = event.dashboard_url or self.dashboard_url
                if ev.job_is_terminal(status):
                    # A finished job shows its final state (the header) and no live-looking Cancel.
                    self.cancel_button.disabled = True
                    self.cancel_button.description = f"Job {status.lower()}"
                    self.cancel_button.layout.display = "none"
            case ev.ToolOutput(text=text):
                self.lines = (self.lines + text.splitlines())[-LOG_TAIL_LINES:]
                self.log.value = "\n".join(self.lines)
            case ev.JobMetrics(points=points, source=source):
                if source == "trackio" and not self.from_trackio:
                    self.metrics, self.from_trackio = {}, True
                elif source == "log" and self.from_trackio:
                    return
                for point in points:
                    for key, value in point.items():
                        self.metrics.setdefault(key, []).append(value)
                        del self.metrics[key][:-MAX_METRIC_POINTS]
                self._render_plot()
            case _:
                return
        self._render_header()
