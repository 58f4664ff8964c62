"""The notebooks of a headless run: the input read strictly, the `%%intern` cell added, the result written whole.

Every file is written to a temporary file beside its target and renamed: a run that fails half way leaves the
previous file (or none), never half a notebook.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from ..agent import events as ev
from ..agent import files
from ..agent.markdown_safe import inert_markdown

LOAD_EXT = "%load_ext mlintern_jupyter"
_LOADS = re.compile(r"^\s*%(re)?load_ext\s+mlintern_jupyter\b", re.MULTILINE)


class BadInput(Exception):
    """Input the command cannot use; the message is the one line shown on stderr."""


def read_notebook(path: str | os.PathLike[str]) -> NotebookNode:
    """A notebook that exists and validates as nbformat 4, with a cell id on every cell (ids name cells)."""
    source = Path(path)
    if not source.is_file():
        raise BadInput(f"no notebook at {source}")
    try:
        notebook = nbformat.read(source, as_version=4)
        nbformat.validate(notebook)
    except (ValueError, nbformat.ValidationError, UnicodeDecodeError, AttributeError, TypeError, KeyError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise BadInput(f"{source} is not a Jupyter notebook: {' '.join(message.split())[:160]}") from None
    except OSError as exc:
        raise BadInput(f"cannot read {source}: {exc.strerror}") from None
    notebook.nbformat_minor = max(notebook.nbformat_minor, 5)
    for cell in notebook.cells:
        cell.setdefault("id", uuid.uuid4().hex[:16])
    return notebook


def intern_cell(prompt: str, options: dict[str, Any]) -> NotebookNode:
    """`%%intern --wait [options]` with the prompt as its body, and a fresh cell id the follower looks for."""
    words = ["%%intern", "--wait"]
    for name, value in options.items():
        if value is not None and value is not False:
            words += [f"--{name.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return nbformat.v4.new_code_cell(" ".join(shlex.quote(w) for w in words) + "\n" + prompt,
                                     id=uuid.uuid4().hex[:16])


def run_notebook(prompt: str, options: dict[str, Any], base: NotebookNode | None) -> tuple[NotebookNode, int]:
    """The notebook to execute (the base's cells, the extension loaded, then the prompt) and the prompt cell's
    index."""
    notebook = base if base is not None else nbformat.v4.new_notebook()
    if not any(c.cell_type == "code" and _LOADS.search(c.source) for c in notebook.cells):
        notebook.cells.append(nbformat.v4.new_code_cell(LOAD_EXT, id=uuid.uuid4().hex[:16]))
    notebook.cells.append(intern_cell(prompt, options))
    notebook.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    return notebook, len(notebook.cells) - 1


def resume_notebook(session_id: str) -> tuple[NotebookNode, int]:
    """A new notebook that resumes the session and continues its answered calls, blocking as --wait does."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell(LOAD_EXT, id=uuid.uuid4().hex[:16]))
    notebook.cells.append(nbformat.v4.new_code_cell(f"%intern resume {shlex.quote(session_id)} --wait",
                                                    id=uuid.uuid4().hex[:16]))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook, 1


def inserted_cells(events: Iterable[ev.Event], anchor: str | None = None) -> list[ev.CellInsert]:
    """The cells the agent inserted (anchored at `anchor` if given), once each by call id, in insertion order."""
    seen: dict[str, ev.CellInsert] = {}
    for event in events:
        if isinstance(event, ev.CellInsert) and (anchor is None or event.anchor_cell_id == anchor):
            seen.setdefault(event.call_id, event)
    return list(seen.values())


def write_inserted_cells(notebook: NotebookNode, inserts: list[ev.CellInsert], anchor_index: int,
                         session_id: str) -> int:
    """Put the agent's inserted cells below the `%%intern` cell, as JupyterLab's panel does (issue 13 item 1).

    HOOK: the commands work (branch i12-commands) brings `control.notebook_cells.place_inserted_cells`, the one
    headless writer; when it is on main, call it here instead. The cells written here already carry its stable
    insertion ids (session id + call id) and cell ids, so neither writer duplicates the other's cells.
    Returns how many cells were added."""
    present = {(c.get("metadata", {}).get("mlintern") or {}).get("insert_id") for c in notebook.cells}
    position = anchor_index + 1
    added = 0
    for insert in inserts:
        stable = f"{session_id}:{insert.call_id}"
        if stable in present:
            continue
        cell_id = "mlintern-" + hashlib.sha256(stable.encode()).hexdigest()[:16]
        if insert.cell_type == "markdown":  # inert, as the panel makes it
            cell = nbformat.v4.new_markdown_cell(inert_markdown(insert.source), id=cell_id)
        else:
            cell = nbformat.v4.new_code_cell(insert.source, id=cell_id)
        cell.metadata["mlintern"] = {"session_id": session_id, "call_id": insert.call_id, "insert_id": stable}
        notebook.cells.insert(position + added, cell)
        added += 1
    return added


def write_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    target = Path(path)
    if not target.parent.is_dir():
        raise BadInput(f"no folder {target.parent} to write {target.name} into")
    return files.write_atomic(target, text, mode=0o644)


def write_notebook(notebook: NotebookNode, path: str | os.PathLike[str]) -> Path:
    nbformat.validate(notebook)
    return write_atomic(path, nbformat.writes(notebook))
