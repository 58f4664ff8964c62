"""`mlintern sft build`: selected sessions -> an SFT dataset file (and, optionally, a private Hub dataset).

Every row passes the redactor again on its way out (secrets known to this machine now, and the pattern rules),
whatever the log already had masked; if redaction fails, the temporary file is removed and nothing is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..agent import events as ev
from ..agent.core import default_system_prompt
from ..agent.redact import RedactionError, Redactor
from .rows import RowsPer, session_rows
from .select import Scan, Selection, selected_sessions
from .write import AtomicRows


class EmptySelection(Exception):
    """No session (or no row) matched: nothing was written."""


@dataclass
class BuildResult:
    path: Path
    rows: int
    scan: Scan
    tag_counts: Counter[str] = field(default_factory=Counter)
    selection: Selection = field(default_factory=Selection)
    rows_per: str = "turn"
    kernel_digests: bool = True
    fmt: str = "jsonl"


def tool_schemas() -> list[dict[str, Any]]:
    """The built-in tools and the notebook's own, in the OpenAI `tools` shape chat templates take."""
    from ..tools import ToolsConfig, default_tools

    schemas = default_tools(ToolsConfig()).schemas()
    try:  # the notebook tools (jupyter layer): their schemas do not need a kernel
        from ..jupyter.cells import insert_cell_tool
        from ..jupyter.kernel_context import KernelContext

        schemas += [t.schema() for t in (insert_cell_tool(), *KernelContext(None).tools())]
    except Exception:  # noqa: BLE001 - without IPython the built-in tools still describe most calls
        pass
    return [{"type": "function", "function": s} for s in schemas]


def _with_unknown_tools(tools: list[dict[str, Any]], called: set[str]) -> list[dict[str, Any]]:
    """Tools a session called that the built-in list lacks (MCP, user tools): named, with an open schema."""
    known = {t["function"]["name"] for t in tools}
    extra = sorted(called - known)
    return tools + [{"type": "function", "function": {"name": name, "description": "",
                                                      "parameters": {"type": "object"}}} for name in extra]


def build_rows(root: Path, selection: Selection, scan: Scan, counts: Counter[str], *, per: RowsPer,
               kernel_digests: bool, redactor: Redactor) -> Iterator[dict[str, Any]]:
    tools = tool_schemas()
    system_prompt = default_system_prompt()
    for log in selected_sessions(root, selection, scan):
        counts.update(log.tags)
        session_tools = _with_unknown_tools(tools, {e.tool for e in log.events if isinstance(e, ev.ToolCall)})
        for row in session_rows(log, system_prompt, per=per, kernel_digests=kernel_digests):
            row["tools"] = session_tools
            redacted = redactor.redact_obj(row)
            if not isinstance(redacted, dict):
                raise RedactionError("redaction changed the shape of a row")
            yield redacted


def build(root: Path, out: Path, *, selection: Selection, per: RowsPer = "turn", kernel_digests: bool = True,
          fmt: str = "jsonl", redactor: Redactor | None = None) -> BuildResult:
    """Write the dataset file; raises EmptySelection (nothing written) when no row came out."""
    redactor = redactor if redactor is not None else Redactor.from_environment()
    scan, counts = Scan(), Counter[str]()
    target = AtomicRows(out, fmt)
    try:
        for row in build_rows(root, selection, scan, counts, per=per, kernel_digests=kernel_digests,
                              redactor=redactor):
            target.write(row)
        if target.rows == 0:
            raise EmptySelection(f"no session under {root} matched ({selection.describe()}; {scan.read} read)"
                                 if scan.kept == 0 else f"the {scan.kept} selected session(s) have no ended turn")
        path = target.commit()
    except BaseException:
        target.abort()
        raise
    return BuildResult(path, target.rows, scan, counts, selection, per, kernel_digests, fmt)
