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
from ..agent.messages import Message, SystemMessage
from ..agent.redact import RedactionError, Redactor
from .rows import RowsPer, openai_message, session_rows
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


def unknown_tools(known: set[str], called: set[str]) -> list[dict[str, Any]]:
    """Tools a session called that the built-in list lacks (MCP, user tools): named, with an open schema."""
    return [{"type": "function", "function": {"name": name, "description": "", "parameters": {"type": "object"}}}
            for name in sorted(called - known)]


class RedactedMessages:
    """Each transcript message redacted once per session (a turn's row repeats the turns before it); the system
    prompt and the tool schemas once per build. Keyed by the message object, held so its id stays its own."""

    def __init__(self, redactor: Redactor, system_prompt: str) -> None:
        self.redactor = redactor
        self.system_prompt = system_prompt
        self.system = self._redact(openai_message(SystemMessage(system_prompt)))
        self.cache: dict[int, tuple[Any, Any]] = {}
        self.values: dict[str, str] = {}

    def _redact(self, value: Any) -> Any:
        redacted = self.redactor.redact_obj(value)
        if type(redacted) is not type(value):
            raise RedactionError("redaction changed the shape of a row")
        return redacted

    def new_session(self) -> None:
        self.cache.clear()
        self.values = {}

    def metadata(self, row: dict[str, Any]) -> None:
        """A row's other fields, each distinct value redacted once per session (tags repeat on every row)."""
        for key, value in row.items():
            if key == "messages":
                continue
            if isinstance(value, str):
                row[key] = self.values.get(value) or self.values.setdefault(value, self._redact(value))
            elif isinstance(value, list):
                hit = self.cache.get(id(value))
                if hit is None:
                    hit = self.cache[id(value)] = (value, self._redact(value))  # type: ignore[assignment]
                row[key] = hit[1]

    def __call__(self, message: Message) -> dict[str, Any]:
        if isinstance(message, SystemMessage) and message.text == self.system_prompt:
            return self.system
        hit = self.cache.get(id(message))
        if hit is None:
            hit = self.cache[id(message)] = (message, self._redact(openai_message(message)))
        return hit[1]


def build_rows(root: Path, selection: Selection, scan: Scan, counts: Counter[str], *, per: RowsPer,
               kernel_digests: bool, redactor: Redactor) -> Iterator[dict[str, Any]]:
    system_prompt = default_system_prompt()
    messages = RedactedMessages(redactor, system_prompt)
    tools = messages._redact(tool_schemas())
    known = {t["function"]["name"] for t in tools}
    for log in selected_sessions(root, selection, scan):
        counts.update(log.tags)
        messages.new_session()
        called = {e.tool for e in log.events if isinstance(e, ev.ToolCall)}
        extra = unknown_tools(known, called)
        # The same list object while no session adds tools: the writers encode it once, not once a row.
        session_tools = tools + messages._redact(extra) if extra else tools
        for row in session_rows(log, system_prompt, per=per, kernel_digests=kernel_digests, convert=messages):
            messages.metadata(row)
            row["tools"] = session_tools
            yield row


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
