"""Session records for every host: past sessions, export (paths checked first), trace settings and upload."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from ..agent.export import ExportError, export_notebook
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


class ExportPathError(ValueError):
    """The export path cannot be written: the reason is one line for the person."""


def export_target(path: str, *, make_dirs: bool = False, cwd: Path | None = None) -> Path:
    """Where an export goes, checked before anything is written: the folder must exist (unless `make_dirs`) and
    be writable, and the path must not be a folder."""
    target = Path(path).expanduser()
    if not target.is_absolute():
        target = (cwd or Path.cwd()) / target
    if target.is_dir():
        raise ExportPathError(f"{target} is a folder: give a file name, e.g. {target / 'session.ipynb'}")
    folder = target.parent
    if not folder.exists():
        if not make_dirs:
            raise ExportPathError(f"the folder {folder} does not exist: create it first, or add --make-dirs")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportPathError(f"cannot create {folder}: {exc.strerror or exc}") from None
    if not folder.is_dir():
        raise ExportPathError(f"{folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise ExportPathError(f"cannot write to {target}: permission denied")
    return target


def export(source: Any, path: str, *, make_dirs: bool = False) -> str:
    """Export a session (a Session or a session folder) to `path`; one line either way, never a traceback."""
    try:
        target = export_target(path, make_dirs=make_dirs)
        written = export_notebook(source, target)
    except (ExportPathError, ExportError) as exc:
        return f"Not exported: {exc}"
    except OSError as exc:
        return f"Not exported: cannot write {path}: {exc.strerror or exc}"
    return f"Exported the session to {written}"


def session_folder(session_id: str, home: Path | None = None) -> Path | None:
    folder = sessions_dir(home) / Path(session_id).name  # a bare id: no path tricks from the frontend
    return folder if (folder / "events.jsonl").is_file() else None


def traces(session: Any, mode: str | None) -> str:
    return str(set_traces(session, mode))


def upload(session: Any) -> str:
    return str(upload_session(session))
