"""Session records for the line magic and the panel: past sessions, export, trace settings and upload."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..agent.export import export_notebook
from ..agent.sessions_index import list_sessions as index_sessions
from ..agent.store import sessions_dir
from ..agent.upload import set_traces, upload_session


def list_sessions(home: Path | None = None, limit: int = 50, live: Any = None) -> list[dict[str, Any]]:
    """Sessions newest first: id, first prompt, model, cost, state (JSON-ready, for the panel and the magic)."""
    rows = []
    for summary in index_sessions(home, live=live)[:limit]:
        row = dataclasses.asdict(summary)
        row["path"] = str(summary.path) if summary.path else None
        row["cost_usd"] = round(summary.cost_usd, 6)
        rows.append(row)
    return rows


def sessions_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No sessions yet."
    lines = [f"{r['name'][:24]:<24} {r['state']:<18} ${r['cost_usd']:<8.4f} {r['model'][:30]:<30} "
             f"{r['first_prompt'][:50]!r}  {r['session_id']}" for r in rows]
    return "\n".join([f"{'name':<24} {'state':<18} {'cost':<9} {'model':<30} prompt, id", *lines,
                      "", "Continue one with: %intern resume NAME (or its id)"])


def export(session_dir: Path, path: str) -> str:
    result = export_notebook(session_dir, path)
    return f"Exported the session to {result or path}"


def export_by_id(session_id: str, path: str, home: Path | None = None) -> str:
    folder = sessions_dir(home) / Path(session_id).name  # a bare id: no path tricks from the frontend
    if not (folder / "events.jsonl").is_file():
        return f"No session {session_id!r}."
    return export(folder, path)


def traces(session: Any, mode: str | None) -> str:
    return str(set_traces(session, mode))


def upload(session: Any) -> str:
    return str(upload_session(session))
