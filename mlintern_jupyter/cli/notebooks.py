"""The notebooks of a headless run: the input read strictly, the `%%intern` cell added, the result written whole.

Every file is written to a temporary file beside its target and renamed: a run that fails half way leaves the
previous file (or none), never half a notebook.
"""

from __future__ import annotations

import os
import re
import shlex
import uuid
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from ..agent import files

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


def write_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    target = Path(path)
    if not target.parent.is_dir():
        raise BadInput(f"no folder {target.parent} to write {target.name} into")
    return files.write_atomic(target, text, mode=0o644)


def write_notebook(notebook: NotebookNode, path: str | os.PathLike[str]) -> Path:
    nbformat.validate(notebook)
    return write_atomic(path, nbformat.writes(notebook))
