"""A job's script, resolved to its bytes before the approval card.

`script` may be Python source, a path to a .py file in the workspace, or a URL. It used to be read when the job
launched, so an `edit` in the same batch changed what ran after the person had approved the card; a URL was even
fetched by the job itself, hours later. Now the loop calls `resolve_job_script` before any card: the path or URL
becomes the source text in the call's arguments, the card shows it, the approval's hash binds it, and the launch
sends exactly those bytes (the tool never reads a path or a URL itself).
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from ..config import ToolsConfig
from ..htmltext import get
from ..registry import Resolved, ToolContext, ToolError
from ..sandbox import confine, open_regular
from .hf import MAX_INLINE_SCRIPT

# Operations whose `script` is run (`run` with `script` is the Python mode, as in ml-intern).
SCRIPT_OPERATIONS = frozenset({"run", "uv", "scheduled run", "scheduled uv"})


def _is_url(text: str) -> bool:
    return text.startswith(("https://", "http://"))


def _read_workspace_file(ctx: ToolContext, name: str) -> bytes:
    """Read now, synchronously: nothing else in the batch runs between this call's resolution and the read."""
    target = confine(ctx, name)
    if not target.exists():
        raise ToolError(f"script {name!r} is not a file in the workspace: write it first, or pass the code itself")
    with os.fdopen(open_regular(target, name), "rb") as handle:
        return handle.read(8 * MAX_INLINE_SCRIPT + 1)


async def _fetch(config: ToolsConfig, url: str) -> bytes:
    response = await get(config, url, service="the script's host")
    return response.content


def _text(data: bytes, source: str) -> str:
    if b"\x00" in data[:8192]:
        raise ToolError(f"script {source!r} is a binary file, not Python source")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"script {source!r} is not UTF-8 text") from None


async def resolve_job_script(config: ToolsConfig, arguments: dict[str, Any], ctx: ToolContext) -> Resolved:
    """The `hf_jobs` resolver: `script` as the exact source that will run (see the module docstring)."""
    script = arguments.get("script")
    if arguments.get("operation") not in SCRIPT_OPERATIONS or not isinstance(script, str):
        return Resolved(arguments)
    candidate = script.strip()
    if "\n" in candidate or not (_is_url(candidate) or candidate.endswith(".py")):
        return Resolved(arguments)  # the source itself, as shown
    if _is_url(candidate):
        text, source = _text(await _fetch(config, candidate), candidate), candidate
    else:
        text, source = _text(_read_workspace_file(ctx, candidate), candidate), f"{candidate} in the workspace"
    if arguments.get("runtime") != "local" and len(base64.b64encode(text.encode())) > MAX_INLINE_SCRIPT:
        raise ToolError(f"the script is {len(text.encode())} bytes, too big to send inline (max about 65 KB): split "
                        "it into a smaller entry script plus modules it downloads from a Hub repo")
    digest = hashlib.sha256(text.encode()).hexdigest()
    note = (f"script read from {source} before this card ({len(text.encode())} bytes, sha256 {digest[:12]}); the "
            "job runs exactly these bytes")
    return Resolved({**arguments, "script": text}, note=note)
