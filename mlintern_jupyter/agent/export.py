"""Export a session as an nbformat v4 notebook (``%intern export PATH.ipynb``).

Prompts and answers become markdown cells, tool calls collapsed code cells whose hidden output is the (capped)
result, scripts code cells, and approvals, costs, jobs and compaction summaries short annotations. Every
code cell starts with ``%%script false --no-raise-error``, so running the exported notebook (nbval, "Run all")
launches nothing; delete that line to run a script. LLM and tool text is escaped so markdown never renders it
as HTML. The whole notebook passes the redactor before it is written; if redaction fails nothing is written.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlintern_jupyter import __version__

from . import events as ev
from .markdown_safe import fenced, inert_markdown
from .redact import RedactionError, Redactor
from .store import read_events

__all__ = ["INERT_MAGIC", "ExportError", "export_notebook", "session_to_notebook"]

# The cell magic that makes a code cell inert: IPython hands the body to `false`, which ignores it; with
# --no-raise-error a missing `false` binary only prints a line instead of failing the run.
INERT_MAGIC = "%%script false --no-raise-error"
# A tool result in the notebook is for reading, not for replaying the context: keep its head and tail.
RESULT_CAP_CHARS = 20_000
# Plan items read the same on GitHub, nbviewer and in JupyterLab (a `[~]` renders as literal brackets).
PLAN_MARKS = {"completed": "✅ done:", "in_progress": "▶️ in progress:", "pending": "⬜ to do:"}


class ExportError(Exception):
    """The notebook was not written (redaction failed or the result did not validate)."""


def escape_md(text: str) -> str:
    """Markdown that cannot carry HTML or fetch an image when the notebook opens (a CommonMark parse decides)."""
    return inert_markdown(text)


def _cap(text: str, limit: int = RESULT_CAP_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - limit} characters cut in the export] ...\n{text[-half:]}"


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.4f}".rstrip("0").rstrip(".") if value else "$0"


def _inline(text: Any) -> str:
    """A value inside an annotation line: one line, escaped, in a code span that it cannot close."""
    value = " ".join(str(text).split())[:200].replace("`", "'")
    return f"`{value}`" if value else "``"


class _Builder:
    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.cells: list[dict[str, Any]] = []
        self._n = 0

    def _id(self, seq: int) -> str:
        self._n += 1
        return f"mlintern-{seq}-{self._n}"[:64]

    def markdown(self, seq: int, source: str, **meta: Any) -> None:
        self.cells.append({"cell_type": "markdown", "id": self._id(seq), "metadata": {"mlintern": meta},
                           "source": source})

    def code(self, seq: int, source: str, *, output: str | None = None, collapsed: bool = False,
             tags: tuple[str, ...] = (), **meta: Any) -> None:
        metadata: dict[str, Any] = {"mlintern": meta, "tags": list(tags)}
        if collapsed:
            metadata["collapsed"] = True
            metadata["jupyter"] = {"outputs_hidden": True}
        outputs = [{"output_type": "stream", "name": "stdout", "text": output}] if output else []
        if outputs:
            # No cell here ever ran, so none shows an execution count; nbval refuses a cell with outputs and no
            # count ("unrun reference cell has outputs"), so it skips these (they are inert anyway).
            metadata["tags"].append("nbval-skip")
        self.cells.append({"cell_type": "code", "id": self._id(seq), "metadata": metadata,
                           "execution_count": None, "outputs": outputs,
                           "source": f"{INERT_MAGIC}\n{source}"})


def _arguments(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) and arguments.strip() else {}
    except ValueError:
        return {"_raw": arguments}
    return parsed if isinstance(parsed, dict) else {"_raw": arguments}


def _call_source(tool: str, arguments: dict[str, Any]) -> str:
    shown = {k: ("<script: see the cell above>" if k == "script" else v) for k, v in arguments.items()}
    body = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in shown.items())
    return f"# tool call (not re-run by this notebook)\n{tool}({body})"


def session_to_notebook(events: Iterable[ev.Event], *, session_id: str | None = None) -> dict[str, Any]:
    """The notebook as a plain dict (unredacted); `export_notebook` redacts, validates and writes it."""
    events = [e for e in events if e.kind != "assistant_delta"]
    session_id = session_id or next((e.session_id for e in events if e.session_id), "")
    started = next((e for e in events if isinstance(e, ev.SessionStarted)), None)
    resolutions = {e.call_id: e for e in events if isinstance(e, ev.ApprovalResolved)}
    results = {e.call_id: e for e in events if isinstance(e, ev.ToolResult)}
    nb = _Builder(session_id)
    models: list[str] = [started.model] if started else []
    totals = {"prompt_tokens": 0, "completion_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0,
              "llm_cost_usd": 0.0, "compute_cost_usd": 0.0, "model_calls": 0, "tool_calls": 0, "turns": 0,
              "compactions": 0}
    job_costs: dict[str, float] = {}
    turn_usage = {"calls": 0, "tokens": 0, "cost": 0.0}
    shown_scripts: set[str] = set()

    for event in events:
        seq = event.seq
        match event:
            case ev.SessionStarted(model=model, approve_mode=mode, budget_usd=budget, demo=demo):
                label = " (offline demo model: nothing here came from a real LLM)" if demo else ""
                nb.markdown(seq, f"# ML Intern session {_inline(session_id)}\n\nModel {_inline(model)}{label}, "
                            f"approvals {_inline(mode)}, budget {_money(budget) if budget is not None else 'none'}. "
                            f"Started {event.ts}. Code cells start with `{INERT_MAGIC}`: running this notebook "
                            "launches nothing.", kind="header")
            case ev.UserPrompt(text=text, kernel_digest=digest):
                body = f"**Prompt**\n\n{escape_md(text)}"
                if digest:
                    body += f"\n\n*What ran in the kernel before this prompt (given to the agent as data):*\n\n" \
                            f"{fenced(digest)}"
                nb.markdown(seq, body, kind="user_prompt")
            case ev.AssistantMessage(text=text, model=model):
                if model and model not in models:
                    models.append(model)
                if text.strip():
                    nb.markdown(seq, f"**Agent**\n\n{escape_md(text)}", kind="assistant_message")
            case ev.ToolCall(call_id=call_id, tool=tool, arguments=arguments):
                totals["tool_calls"] += 1
                args = _arguments(arguments)
                script = args.get("script")
                if isinstance(script, str) and script.strip() and script not in shown_scripts:
                    shown_scripts.add(script)
                    nb.code(seq, script, tags=("mlintern-script",), kind="script", call_id=call_id, tool=tool)
                result = results.get(call_id)
                output = None
                if result is not None:
                    output = f"[{result.status}] {_cap(result.content)}\n"
                nb.code(seq, _call_source(tool, args), output=output, collapsed=True, tags=("mlintern-tool",),
                        kind="tool_call", call_id=call_id, tool=tool,
                        status=result.status if result is not None else "no result")
            case ev.CellInsert(call_id=call_id, source=source, cell_type=cell_type):
                if cell_type == "markdown":
                    nb.markdown(seq, escape_md(source), kind="cell_insert", call_id=call_id)
                elif source not in shown_scripts:
                    shown_scripts.add(source)
                    nb.code(seq, source, tags=("mlintern-script",), kind="cell_insert", call_id=call_id)
            case ev.ApprovalRequested(call_id=call_id, tool=tool, action=action, cost_usd=cost,
                                      budget_left_usd=left, action_sha256=sha):
                resolved = resolutions.get(call_id)
                outcome = (f"**{resolved.decision}** by {resolved.by}" if resolved else "**pending**")
                if resolved and resolved.feedback:
                    outcome += f" (feedback: {_inline(resolved.feedback)})"
                what = " ".join(f"{k}={_inline(v)}" for k, v in action.items()
                                if k in ("operation", "runtime", "hardware_flavor", "timeout_s", "namespace", "target") and v)
                nb.markdown(seq, f"> **Approval** for {_inline(tool)} {what}: worst case {_money(cost)}, budget "
                            f"left {_money(left) if left is not None else 'unlimited'}; action sha256 "
                            f"{_inline(sha[:16])}... {outcome}", kind="approval", call_id=call_id)
            case ev.JobUpdated(job_id=job_id, status=status, hardware=hardware, cost_usd=cost, runtime=runtime):
                if cost is not None:  # None: its price is unknown (the ledger charges the worst case)
                    job_costs[job_id] = cost
                nb.markdown(seq, f"> **Job** {_inline(job_id)} ({runtime}{', ' + hardware if hardware else ''}): "
                            f"{_inline(status)}" + (f", cost {_money(cost)}" if cost else ""), kind="job")
            case ev.Usage(prompt_tokens=p, completion_tokens=c, cost_usd=cost):
                for name in ("prompt_tokens", "completion_tokens", "cache_read_tokens", "cache_write_tokens"):
                    totals[name] += getattr(event, name)
                totals["llm_cost_usd"] += cost or 0.0  # None: unknown price
                totals["model_calls"] += 1
                turn_usage["calls"] += 1
                turn_usage["tokens"] += p + c
                turn_usage["cost"] += cost or 0.0
            case ev.Compacted(summary=summary, tokens_before=before, tokens_after=after):
                totals["compactions"] += 1
                nb.markdown(seq, f"### Context compacted\n\n{before:,} tokens became {after:,}. The summary that "
                            f"replaced the older messages:\n\n{escape_md(summary)}", kind="compacted")
            case ev.PlanUpdated(todos=todos):
                lines = [f"- {PLAN_MARKS.get(str(t.get('status')), PLAN_MARKS['pending'])} "
                         f"{escape_md(str(t.get('content', '')))}" for t in todos if isinstance(t, dict)]
                nb.markdown(seq, "> **Plan**\n\n" + "\n".join(lines), kind="plan")
            case ev.GuardFired(guard=guard, message=message):
                nb.markdown(seq, f"> **Guard** {_inline(guard)}: {escape_md(message)}", kind="guard")
            case ev.Error(message=message, hint=hint):
                nb.markdown(seq, f"> **Error**: {escape_md(message)}" + (f"\n>\n> {escape_md(hint)}" if hint else ""),
                            kind="error")
            case ev.ModelChanged(model=model):
                models.append(model)
                nb.markdown(seq, f"> Model changed to {_inline(model)}", kind="model_changed")
            case ev.TurnEnded(reason=reason, message=message):
                totals["turns"] += 1
                nb.markdown(seq, f"> *Turn ended: {reason}* · {turn_usage['calls']} model calls · "
                            f"{turn_usage['tokens']:,} tokens · {_money(turn_usage['cost'])}"
                            + (f" · {escape_md(message)}" if message and reason != "done" else ""), kind="turn_ended")
                turn_usage = {"calls": 0, "tokens": 0, "cost": 0.0}
            case ev.SessionEnded(reason=reason):
                nb.markdown(seq, f"> *Session ended* {escape_md(reason)}", kind="session_ended")
            case _:
                pass  # tool_started / tool_output / notices / budget and queue updates: live-only
    totals["compute_cost_usd"] = sum(job_costs.values())
    totals["cost_usd"] = round(totals["llm_cost_usd"] + totals["compute_cost_usd"], 6)
    totals["llm_cost_usd"] = round(totals["llm_cost_usd"], 6)
    last = events[-1] if events else None
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "mlintern": {
                "session_id": session_id,
                "model": models[-1] if models else "",
                "models": models,
                "demo": bool(started and started.demo),
                "started": started.ts if started else "",
                "updated": last.ts if last else "",
                "last_seq": last.seq if last else 0,
                "totals": totals,
                "exporter_version": __version__,
            },
        },
        "cells": nb.cells,
    }


def _load(source: Any) -> tuple[list[ev.Event], str | None, Redactor | None]:
    if isinstance(source, str | os.PathLike):
        folder = Path(source)
        log = folder / "events.jsonl" if folder.is_dir() else folder
        result = read_events(log)
        if not result.events:
            raise ExportError(f"no session events in {log}")
        return result.events, None, None
    if hasattr(source, "events") and hasattr(source, "id"):  # a live Session
        return list(source.events), source.id, getattr(source, "redactor", None)
    return list(source), None, None


def _file_mode(target: Path) -> int:
    if target.exists():
        return target.stat().st_mode & 0o777  # overwriting keeps the file's mode
    return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask, read without changing it where Linux tells it (os.umask sets it, racing other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def export_notebook(source: Any, path: str | os.PathLike[str], *, redactor: Redactor | None = None,
                    make_dirs: bool = False) -> Path:
    """Write the session (a session directory, an events.jsonl, a Session or a list of events) as a notebook.
    The notebook is redacted as a whole and written atomically; on any failure nothing is written. The folder
    must exist unless `make_dirs`; the file gets the person's usual mode (umask), not mkstemp's 0600."""
    # Imported here: nbformat pulls in traitlets, and importing the engine must not (STYLE rule 1).
    import nbformat

    events, session_id, own_redactor = _load(source)
    # `Redactor` has a __len__ (known secrets): test for None, never for truth.
    if redactor is None:
        redactor = own_redactor if own_redactor is not None else Redactor.from_environment()
    data = session_to_notebook(events, session_id=session_id)
    try:
        redacted = redactor.redact_obj(data)
    except RedactionError as exc:
        raise ExportError(f"redaction failed, nothing was written: {exc}") from exc
    notebook = nbformat.from_dict(redacted)
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        raise ExportError(f"the exported notebook does not validate: {exc.message}") from exc
    target = Path(path)
    if make_dirs:
        target.parent.mkdir(parents=True, exist_ok=True)
    if not target.parent.is_dir():
        raise ExportError(f"the folder {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            nbformat.write(notebook, handle)
        # mkstemp makes the file 0600; the notebook gets the mode any file the person writes gets (umask).
        os.chmod(tmp, _file_mode(target))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
