"""Session records for the line magic: the list of past sessions and the hand-offs to export and upload."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ..agent import events as ev
from ..agent.store import read_events, sessions_dir


def list_sessions(home: Path | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Sessions newest first: id, first prompt, model, cost and state, read from each events.jsonl."""
    root = sessions_dir(home)
    if not root.is_dir():
        return []
    rows = []
    # Session ids start with their UTC start time, so the name order is the time order.
    for folder in sorted((p for p in root.iterdir() if (p / "events.jsonl").is_file()), reverse=True)[:limit]:
        log = read_events(folder / "events.jsonl")
        model, prompt, cost, state = "", "", 0.0, "new"
        for event in log.events:
            match event:
                case ev.SessionStarted(model=name) | ev.ModelChanged(model=name):
                    model = name
                case ev.UserPrompt(text=text) if not prompt:
                    prompt = text
                case ev.Usage(cost_usd=usd):
                    cost += usd
                case ev.TurnEnded(reason=reason):
                    state = reason
                case ev.UserPrompt():
                    state = "running or interrupted"
                case ev.SessionEnded():
                    state = "ended"
        rows.append({"session_id": folder.name, "first_prompt": prompt[:200], "model": model,
                     "cost_usd": round(cost, 6), "state": state, "events": len(log.events)})
    return rows


def sessions_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No sessions yet."
    lines = [f"{r['session_id']}  {r['state']:<18} ${r['cost_usd']:<8.4f} {r['model']:<30} {r['first_prompt'][:60]!r}"
             for r in rows]
    return "\n".join(["session id                 state              cost      model", *lines,
                      "", "Continue one with: %intern resume SESSION_ID"])


def _optional(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def export(session_dir: Path, path: str) -> str:
    export_notebook = _optional("mlintern_jupyter.agent.export", "export_notebook")
    if export_notebook is None:
        return "Export is not available yet in this version (mlintern_jupyter.agent.export is missing)."
    result = export_notebook(session_dir, path)
    return f"Exported the session to {result or path}"


def traces(session: Any, mode: str | None) -> str:
    set_mode = _optional("mlintern_jupyter.agent.upload", "set_traces")
    if set_mode is None:
        return "Trace upload settings are not available yet in this version (mlintern_jupyter.agent.upload)."
    return str(set_mode(session, mode))


def upload(session: Any) -> str:
    upload_session = _optional("mlintern_jupyter.agent.upload", "upload_session")
    if upload_session is None:
        return "Trace upload is not available yet in this version (mlintern_jupyter.agent.upload)."
    return str(upload_session(session))
