"""One terminal line per event (or one JSON object per line with --json).

Model and tool text is untrusted: control characters are replaced before anything reaches the terminal, so a
job log or a web page cannot move the cursor, rewrite earlier lines or set the window title.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..agent import events as ev

WIDTH = 100
BAR_CELLS = 20
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# tqdm and friends: "45%|####" or " 45/100 [" in a job's output.
_PERCENT = re.compile(r"(\d{1,3})%\|")
_FRACTION = re.compile(r"\b(\d+)/(\d+) \[")
# Metric pairs that give a fraction done: (done, total) key names.
_TOTALS = (("epoch", "num_epochs"), ("epoch", "epochs"), ("epoch", "total_epochs"), ("step", "max_steps"),
           ("step", "total_steps"))


def clean(text: Any, width: int = WIDTH) -> str:
    """One line, no control characters, at most `width` characters."""
    line = " ".join(_CONTROL.sub(" ", str(text)).split())
    return line if len(line) <= width else line[: width - 1] + "…"


def row(label: str, text: str, width: int = WIDTH) -> str:
    """A terminal line: a label column, then the text made safe and short."""
    return f"{label:<8} {clean(text, width)}"


def bar(fraction: float) -> str:
    filled = max(0, min(BAR_CELLS, round(fraction * BAR_CELLS)))
    return "[" + "#" * filled + "." * (BAR_CELLS - filled) + f"] {fraction:.0%}"


def _money(value: float | None) -> str:
    return "cost unknown" if value is None else f"${value:.4f}"


def _arguments_summary(arguments: Any) -> str:
    if isinstance(arguments, dict):
        parts = [f"{k}={v!r}" if not isinstance(v, str) or len(v) < 60 else f"{k}=<{len(v)} chars>"
                 for k, v in arguments.items()]
        return ", ".join(parts)
    return str(arguments)


@dataclass
class JobProgress:
    """What the terminal knows about each job: its status and how far it is."""

    status: dict[str, str] = field(default_factory=dict)
    fraction: dict[str, float] = field(default_factory=dict)
    latest: dict[str, dict[str, float]] = field(default_factory=dict)

    def line(self, job_id: str) -> str:
        metrics = " ".join(f"{k} {v:g}" for k, v in list(self.latest.get(job_id, {}).items())[:4])
        fraction = self.fraction.get(job_id)
        progress = bar(fraction) if fraction is not None else ""
        return row("job", f"{job_id} {self.status.get(job_id, 'RUNNING')} {progress} {metrics}")

    def from_metrics(self, job_id: str, points: list[dict[str, float]]) -> None:
        for point in points:
            self.latest.setdefault(job_id, {}).update(point)
            for done, total in _TOTALS:
                if point.get(total):
                    self.fraction[job_id] = min(1.0, point.get(done, 0) / point[total])

    def from_output(self, job_id: str, text: str) -> bool:
        percents, fractions = _PERCENT.findall(text), _FRACTION.findall(text)
        if fractions and int(fractions[-1][1]):
            self.fraction[job_id] = min(1.0, int(fractions[-1][0]) / int(fractions[-1][1]))
        elif percents:
            self.fraction[job_id] = min(1.0, int(percents[-1]) / 100)
        else:
            return False
        return True


@dataclass
class Renderer:
    """Turns events into lines for a terminal (or JSON lines) and keeps the running totals they show."""

    out: TextIO
    as_json: bool = False
    jobs: JobProgress = field(default_factory=JobProgress)
    cost: float = 0.0
    name: str = ""

    def show(self, event: ev.Event) -> None:
        if self.as_json:
            self.out.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
        else:
            line = self.line(event)
            if line is not None:
                self.out.write(line + "\n")
        self.out.flush()

    def line(self, event: ev.Event) -> str | None:
        match event:
            case ev.SessionStarted(model=model, name=name):
                self.name = name or event.session_id
                return row("session", f"{self.name} ({event.session_id}) · model {model}", WIDTH + 40)
            case ev.UserPrompt(text=text):
                return row("prompt", text)
            case ev.AssistantMessage(text=text, tool_calls=calls):
                said = clean(text) if text.strip() else ""
                return row("agent", said) if said else (None if calls else row("agent", "(no text)"))
            case ev.ToolCall(tool=tool, arguments=arguments):
                return row("call", f"{tool} {_arguments_summary(arguments)}")
            case ev.ApprovalRequested(tool=tool, cost_usd=cost, nonce=nonce, reason=reason):
                return row("approval", f"{tool} needs a decision ({reason}; worst case {_money(cost)}) nonce {nonce}",
                           WIDTH + 40)
            case ev.ApprovalResolved(decision=decision, by=by, feedback=feedback):
                return row("approval", f"{decision} by {by}" + (f": {feedback}" if feedback else ""))
            case ev.ToolResult(tool=tool, ok=ok, status=status, content=content, duration_s=seconds):
                return row("result", f"{tool} {status if not ok else 'ok'} {seconds:.1f}s {clean(content, 60)}")
            case ev.PlanUpdated(todos=todos):
                done = sum(t.get("status") == "completed" for t in todos)
                current = next((t.get("content", "") for t in todos if t.get("status") == "in_progress"), "")
                return row("plan", f"{done}/{len(todos)} done {clean(current, 60)}")
            case ev.Usage(cost_usd=cost, prompt_tokens=tokens_in, completion_tokens=tokens_out):
                self.cost += cost or 0.0
                return row("usage", f"{tokens_in:,} in / {tokens_out:,} out · {_money(cost)} · total ${self.cost:.4f}")
            case ev.JobUpdated(job_id=job_id, status=status, hardware=hardware, cost_usd=cost):
                self.jobs.status[job_id] = status
                extra = f" {hardware}" if hardware else ""
                return self.jobs.line(job_id) + extra + (f" · {_money(cost)}" if cost != 0.0 else "")
            case ev.JobMetrics(job_id=job_id, points=points):
                self.jobs.from_metrics(job_id, points)
                return self.jobs.line(job_id)
            case ev.ToolOutput(job_id=str() as job_id, text=text):
                return self.jobs.line(job_id) if self.jobs.from_output(job_id, text) else None
            case ev.Compacted(tokens_before=before, tokens_after=after):
                return row("compact", f"{before:,} -> {after:,} tokens")
            case ev.GuardFired(guard=guard, message=message):
                return row("guard", f"{guard}: {message}")
            case ev.Notice(level=level, message=message):
                return row(level, message)
            case ev.Error(message=message, hint=hint):
                return row("error", message + (f" (hint: {hint})" if hint else ""), WIDTH + 60)
            case ev.TurnEnded(reason=reason, message=message):
                return row("end", reason + (f": {message}" if message else ""), WIDTH + 40)
            case ev.ModelChanged(model=model):
                return row("model", model)
            case ev.BudgetUpdated(cap_usd=cap):
                return row("budget", "no cap" if cap is None else f"${cap:.2f}")
        return None
