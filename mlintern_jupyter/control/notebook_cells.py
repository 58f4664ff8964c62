"""Headless writers put the agent's new cells into an executed notebook from the event log.

nbclient, papermill and `mlintern run` have no frontend: nobody inserts the cells a `cell_insert` event asks for,
and the kernel's set_next_input payload is dropped. After the run, `place_inserted_cells(notebook)` reads each
`%%intern` cell's output metadata (`mlintern.session_id` and `anchor`, written by the cell's view), reads that
session's log, and inserts every insertion anchored there right below the cell, in the order they were made.

Each inserted cell carries the insertion's stable id (session id + call id) in its metadata, as the side panel
writes it, so running the writer again (or over a notebook a panel already filled) inserts nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..agent import events as ev
from ..agent.markdown_safe import inert_markdown
from ..agent.store import read_events, sessions_dir

METADATA_KEY = "mlintern"


def insert_id(session_id: str, call_id: str) -> str:
    """The stable id of an insertion: the same in the kernel, the panel (`insertId` in cells.ts) and here."""
    return f"{session_id}:{call_id}"


def _own(metadata: Any) -> dict[str, Any]:
    own = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    return own if isinstance(own, dict) else {}


def _cell_insert_id(cell: dict[str, Any]) -> str | None:
    own = _own(cell.get("metadata"))
    if isinstance(own.get("insert_id"), str):
        return own["insert_id"]
    if isinstance(own.get("session_id"), str) and isinstance(own.get("call_id"), str):
        return insert_id(own["session_id"], own["call_id"])
    return None


def _anchors(cell: dict[str, Any]) -> list[tuple[str, str]]:
    """(session id, anchor) of each turn this `%%intern` cell ran, from its outputs' metadata."""
    found: list[tuple[str, str]] = []
    for output in cell.get("outputs") or []:
        own = _own(output.get("metadata"))
        session_id, anchor = own.get("session_id"), own.get("anchor")
        if isinstance(session_id, str) and session_id and (session_id, anchor or cell.get("id")) not in found:
            found.append((session_id, anchor or cell.get("id") or ""))
    return found


def _new_cell(event: ev.CellInsert, session_id: str) -> dict[str, Any]:
    stable = insert_id(session_id, event.call_id)
    cell: dict[str, Any] = {
        "id": "mlintern-" + hashlib.sha256(stable.encode()).hexdigest()[:16],
        "cell_type": event.cell_type,
        "metadata": {METADATA_KEY: {"session_id": session_id, "call_id": event.call_id, "insert_id": stable}},
        # Never run here: the person decides. Markdown made inert, as the panel does.
        "source": inert_markdown(event.source) if event.cell_type == "markdown" else event.source,
    }
    if event.cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _log_inserts(session_id: str, home: Path | None) -> list[ev.CellInsert]:
    log = sessions_dir(home) / Path(session_id).name / "events.jsonl"
    if not log.is_file():
        return []
    return [e for e in read_events(log).events if isinstance(e, ev.CellInsert)]


def anchored_inserts(events: Iterable[ev.Event], anchor: str | None) -> list[ev.CellInsert]:
    """The insertions anchored at the `%%intern` cell `anchor` (None: every one), in the order they were made."""
    return [e for e in events if isinstance(e, ev.CellInsert) and anchor in (None, e.anchor_cell_id)]


def _present(notebook: Any) -> set[str]:
    """The stable ids the notebook already holds (as cells, or recorded as placed before a person moved them)."""
    own = _own(notebook.setdefault("metadata", {}))
    return {i for i in (_cell_insert_id(c) for c in notebook["cells"]) if i} | set(own.get("inserted") or [])


def _insert_below(cells: list[Any], index: int, session_id: str, inserts: list[ev.CellInsert],
                  present: set[str]) -> tuple[int, list[str]]:
    """Insert below cell `index` and the insertions already placed under it, in the order they were made, each
    at most once. Returns the index after the last of them and the stable ids inserted."""
    # Imported here: nbformat pulls in traitlets, and importing the command channel must not (STYLE rule 1).
    from nbformat import from_dict

    below = index + 1
    while below < len(cells) and _cell_insert_id(cells[below]) is not None:
        below += 1
    placed: list[str] = []
    for event in inserts:
        stable = insert_id(session_id, event.call_id)
        if stable in present:
            continue
        cells.insert(below, from_dict(_new_cell(event, session_id)))
        below += 1
        present.add(stable)
        placed.append(stable)
    return below, placed


def _record(notebook: Any, placed: list[str]) -> list[str]:
    if placed:
        own = _own(notebook["metadata"])
        notebook["metadata"][METADATA_KEY] = {**own, "inserted": [*(own.get("inserted") or []), *placed]}
    return placed


def place_cells_below(notebook: Any, index: int, session_id: str, inserts: list[ev.CellInsert]) -> list[str]:
    """Insert the given insertions of `session_id` below cell `index` (the `mlintern` command, which knows its
    run's prompt cell and the events it followed). Returns the stable ids inserted."""
    return _record(notebook, _insert_below(notebook["cells"], index, session_id, inserts, _present(notebook))[1])


def place_inserted_cells(notebook: Any, home: Path | None = None) -> list[str]:
    """Insert, below each `%%intern` cell, the cells its turns asked for that the notebook does not hold yet.
    `notebook` is an nbformat NotebookNode or its dict (changed in place). Returns the stable ids inserted."""
    cells: list[dict[str, Any]] = notebook["cells"]
    present = _present(notebook)
    placed: list[str] = []
    logs: dict[str, list[ev.CellInsert]] = {}
    index = 0
    while index < len(cells):
        cell = cells[index]
        source = cell.get("source") or ""
        source = "".join(source) if isinstance(source, list) else source
        if cell.get("cell_type") != "code" or not source.lstrip().startswith("%%intern"):
            index += 1
            continue
        below = index + 1
        for session_id, anchor in _anchors(cell):
            inserts = anchored_inserts(logs.setdefault(session_id, _log_inserts(session_id, home)), anchor)
            below, new = _insert_below(cells, index, session_id, inserts, present)
            placed += new
        index = max(below, index + 1)
    return _record(notebook, placed)
