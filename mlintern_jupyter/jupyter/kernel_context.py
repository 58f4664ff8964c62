"""What the kernel knows: executed cells, their results and errors, and read-only summaries of variables.

Nothing here evaluates code: variables are looked up by name in the user namespace and attributes are read with
`inspect.getattr_static` (a property is refused, not run); private names and the process environment are refused,
and secret-looking values are masked (see `variable_summary`). Large objects are summarised with bounded
previews, so a 10-million-row DataFrame costs a few hundred characters.
"""

from __future__ import annotations

import inspect
import traceback
from dataclasses import dataclass
from typing import Any

from ..tools.registry import Tool, ToolContext, ToolError
from .variable_summary import MASK, is_environment, looks_secret, safe_repr, summarize, type_name

SUMMARY_CHARS = 4_000
# About 4 characters a token: the digest sent with a prompt stays under ~1,500 tokens.
DIGEST_CHARS = 6_000
CELL_CHARS = 1_500


@dataclass
class CellRecord:
    execution_count: int | None
    source: str
    result: str = ""
    error: str = ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit // 2]}\n… [{len(text) - limit} chars cut] …\n{text[-limit // 2:]}"


class KernelContext:
    """Records executed cells through IPython's post_run_cell event and serves the kernel tools."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.cells: list[CellRecord] = []
        self.digest_mark = 0
        self.registered = False

    def register(self) -> None:
        if not self.registered:
            self.shell.events.register("post_run_cell", self._post_run_cell)
            self.registered = True

    def unregister(self) -> None:
        if self.registered:
            self.shell.events.unregister("post_run_cell", self._post_run_cell)
            self.registered = False

    def _post_run_cell(self, result: Any) -> None:
        info = getattr(result, "info", None)
        source = getattr(info, "raw_cell", "") or ""
        record = CellRecord(getattr(result, "execution_count", None), source)
        if getattr(result, "result", None) is not None:
            record.result = safe_repr(result.result, 500)
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        if error is not None:
            record.error = _clip("".join(traceback.format_exception(error)), CELL_CHARS)
        self.cells.append(record)
        del self.cells[:-500]
        self.digest_mark = min(self.digest_mark, len(self.cells))

    def history(self, last: int = 10) -> list[dict[str, Any]]:
        cells = self.cells[-max(1, min(last, 100)):]
        return [{"execution_count": c.execution_count, "source": _clip(c.source, CELL_CHARS),
                 **({"result": c.result} if c.result else {}), **({"error": c.error} if c.error else {})}
                for c in cells]

    def register_secrets(self, redactor: Any) -> int:
        """Hand the values of secret-looking kernel variables and environment variables (`db_password`,
        `os.environ["DB_PASS"]`) to the session's redactor, so the cells that set them, shown in the digest, and
        any output that repeats them come out masked. Returns how many were registered."""
        import os

        found = [(name, value) for name, value in list(self.shell.user_ns.items())
                 if not name.startswith("_") and isinstance(value, str) and looks_secret(name)]
        found += [(name, value) for name, value in os.environ.items()
                  if looks_secret(name) and not value.startswith("/")]  # SSH_AUTH_SOCK is a path, not a secret
        return sum(1 for name, value in found if redactor.add_secret(value, name))

    def digest(self) -> str | None:
        """What ran since the last prompt (excluding %%intern cells), newest kept when over the budget."""
        new = [c for c in self.cells[self.digest_mark:] if not c.source.lstrip().startswith(("%%intern", "%intern"))]
        self.digest_mark = len(self.cells)
        if not new:
            return None
        parts: list[str] = []
        used = 0
        for cell in reversed(new):
            text = f"In [{cell.execution_count}]:\n{_clip(cell.source, CELL_CHARS)}"
            if cell.result:
                text += f"\nOut: {cell.result}"
            if cell.error:
                text += f"\nError:\n{cell.error}"
            if used + len(text) > DIGEST_CHARS:
                parts.append(f"({len(new) - len(parts)} earlier cells left out)")
                break
            parts.append(text)
            used += len(text)
        return "\n\n".join(reversed(parts))

    def lookup(self, name: str) -> Any:
        parts = name.strip().split(".")
        if not parts or not all(p.isidentifier() for p in parts):
            raise ToolError(f"{name!r} is not a variable name (use a name or dotted attributes, no expressions)")
        namespace = self.shell.user_ns
        if parts[0] not in namespace or parts[0].startswith("_"):
            raise ToolError(f"no variable named {parts[0]!r} in the kernel")
        if any(p.startswith("_") for p in parts[1:]):
            raise ToolError(f"{name!r} names a private attribute; only public ones can be inspected")
        value = namespace[parts[0]]
        for part in parts[1:]:
            if is_environment(value):
                break
            try:
                attr = inspect.getattr_static(value, part)
            except AttributeError:
                raise ToolError(f"{'.'.join(parts[:parts.index(part)])} has no attribute {part!r}") from None
            if isinstance(attr, property) or (hasattr(attr, "__get__") and not callable(attr)):
                raise ToolError(f"{part!r} is a computed attribute; inspect the object itself instead")
            value = attr
        if is_environment(value):
            raise ToolError("the process environment (os.environ) holds credentials; it is not inspected")
        return value

    def tools(self) -> list[Tool]:
        context = self

        async def kernel_history(last: int = 10) -> str:
            """The user's recently executed cells with their results and error tracebacks: read them before asking the
            person anything, and to see why their last cell failed.

            Args:
                last: how many of the most recent cells to return (1-100)
            """
            import json

            return json.dumps(context.history(last), indent=1) if context.cells else "No cells have run yet."

        async def kernel_inspect(name: str, ctx: ToolContext | None = None) -> str:
            """Describe a variable in the user's kernel: type, shape, dtypes, length and a short preview. Read-only.

            Args:
                name: a variable name, optionally with dotted attributes (e.g. df or model.config)
            """
            import json

            redactor = ctx.redactor if ctx is not None else None

            def on_secret(label: str, value: object) -> None:
                # Known from now on: the same value met in a job log or a file is redacted too.
                if redactor is not None and isinstance(value, str | bytes):
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                    redactor.add_secret(text, label)

            value = context.lookup(name)
            if looks_secret(name):
                on_secret(name, value)
                info = {"type": type_name(value), "value": MASK}
            else:
                info = summarize(value, on_secret)
            return _clip(json.dumps(info, indent=1, default=str), SUMMARY_CHARS)

        async def notebook_read(last: int = 20) -> str:
            """The cells this kernel has executed, in order (source only, newest last).

            Args:
                last: how many cells to return (1-100)
            """
            cells = context.cells[-max(1, min(last, 100)):]
            if not cells:
                return "The kernel has not executed any cells yet."
            return "\n\n".join(f"# In [{c.execution_count}]\n{_clip(c.source, CELL_CHARS)}" for c in cells)

        return [Tool.from_function(fn, read_only=True) for fn in (kernel_history, kernel_inspect, notebook_read)]
