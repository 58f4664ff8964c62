"""bash, read, write, edit: local tools confined to the session's workspace directory.

Paths resolve inside the workspace or are refused (`..`, absolute paths elsewhere, symlinks pointing out).
`write` and `edit` refuse to change an existing file this session has not read (so the model cannot clobber
what it has not seen); writes are atomic (temp file + rename). `bash` runs in its own process group with a
timeout, never blocks the event loop, and keeps a capped head and tail of its output.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shlex
import signal
import stat
import tempfile
from pathlib import Path
from typing import Any, Literal

from .credentials import local_launch
from .registry import Tool, ToolContext, ToolError, ToolReturn

READ_LINES = 2_000
READ_CHARS = 24_000
BASH_KEEP = 24_000
BASH_DEFAULT_TIMEOUT = 120
BASH_MAX_TIMEOUT = 1_800
BINARY_SNIFF = 8_192


def confine(ctx: ToolContext, path: str) -> Path:
    """The real path of `path` inside the workspace, or a ToolError."""
    if not path or "\x00" in path:
        raise ToolError("give a path inside the workspace, e.g. 'train.py' or 'data/notes.md'")
    root = ctx.workspace.resolve()
    candidate = Path(path)
    target = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not target.is_relative_to(root):
        raise ToolError(f"{path!r} is outside the workspace ({root}); only files there can be used: give a path "
                        "relative to it, e.g. 'train.py' (there is no /app here)")
    return target


def _reads(ctx: ToolContext) -> set[str]:
    """Paths this session has read or written (kept in the session's services across calls)."""
    return ctx.services.files_seen


def _remote(ctx: ToolContext) -> Any:
    """The client of the GPU sandbox this session started with sandbox_create."""
    from .sandbox_remote import SandboxClient

    info = ctx.services.sandbox
    if info is None:
        raise ToolError("no sandbox in this session: start one with sandbox_create, or leave sandbox=false")
    return SandboxClient(info.url, info.token)


def _numbered(text: str, offset: int, limit: int) -> str:
    lines = text.splitlines()
    shown = [f"{n + 1:6}\t{line[:2_000]}" for n, line in enumerate(lines) if offset <= n < offset + limit]
    more = f"\n[showing lines {offset + 1}-{offset + len(shown)} of {len(lines)}; pass offset=" \
        f"{offset + len(shown) + 1} to read more]" if offset + len(shown) < len(lines) else ""
    return "\n".join(shown) + more


async def read(path: str, ctx: ToolContext, offset: int = 1, limit: int = READ_LINES, sandbox: bool = False) -> str:
    """Read a text file of the workspace, numbered like `cat -n`. Read a file before you edit or overwrite it
    (write and edit refuse files not read in this session); read several files in parallel. Directories list
    their entries. Binary files (weights, parquet) are not shown: use bash (`ls -la`, `file`).

    Args:
        path: file path relative to the workspace, e.g. "train.py" or "jobs/run.log".
        offset: the line number to start at (1-based, as numbered in the output), for files over 2000 lines.
        limit: how many lines to show (max 2000).
        sandbox: read it in the GPU sandbox started with sandbox_create instead of the local workspace.
    """
    limit = max(1, min(limit, READ_LINES))
    offset = max(offset, 1) - 1  # 0-based from here on
    if sandbox:
        data = await _remote(ctx).read(path)
        if data.get("binary"):
            return f"{path} is a binary file ({data.get('size')} bytes) in the sandbox; it is not shown."
        _reads(ctx).add(f"sandbox:{path}")
        return _numbered(data.get("content", ""), offset, limit) or f"{path} is empty (in the sandbox)"
    target = confine(ctx, path)
    # Off the event loop: a slow disk or a huge file must not stall the agent (or keep Stop from landing).
    text, was_read = await asyncio.to_thread(_read_local, target, path, offset, limit)
    if was_read:
        _reads(ctx).add(str(target))
    return text


def open_regular(target: Path, path: str) -> int:
    """A read-only descriptor of a regular file. Opened non-blocking and checked on the descriptor itself, so a
    FIFO, device or socket (or one swapped in after a check) is refused instead of blocking forever."""
    def refuse(mode: int) -> ToolError:
        kind = "a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        return ToolError(f"{path!r} is {kind}, not a regular file; read refuses it (it could block forever)")

    try:
        if not stat.S_ISREG(mode := os.stat(target).st_mode):
            raise refuse(mode)  # never opened: opening a device can have effects of its own
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ToolError(f"{path!r} does not exist in the workspace") from None
    except OSError as exc:
        raise ToolError(f"{path!r} cannot be read ({exc.strerror}); only regular files can") from None
    if not stat.S_ISREG(mode := os.fstat(fd).st_mode):  # swapped in after the check
        os.close(fd)
        raise refuse(mode)
    os.set_blocking(fd, True)
    return fd


def _read_local(target: Path, path: str, offset: int, limit: int) -> tuple[str, bool]:
    if target.is_dir():
        entries = sorted(p.name + ("/" if p.is_dir() else "") for p in target.iterdir())
        return f"{path} is a directory:\n" + "\n".join(entries[:500]), False
    fd = open_regular(target, path)
    with open(fd, "rb") as raw:
        size = os.fstat(raw.fileno()).st_size
        if b"\x00" in raw.read(BINARY_SNIFF):
            return (f"{path} is a binary file ({size} bytes); it is not shown. Inspect it with bash (e.g. `file`, "
                    "`xxd | head`)."), False
        raw.seek(0)
        shown: list[str] = []
        chars = total = 0
        # Stream the file: a 50 MB log costs only the lines shown.
        for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8", errors="replace")):
            total = number + 1
            if number < offset or len(shown) >= limit or chars > READ_CHARS:
                continue
            text = line.rstrip("\n")
            text = text if len(text) <= 2_000 else text[:2_000] + " ..."
            shown.append(f"{number + 1:6}\t{text}")
            chars += len(text)
    note = ""
    if offset + len(shown) < total:
        note = (f"\n[showing lines {offset + 1}-{offset + len(shown)} of {total}; pass offset={offset + len(shown) + 1} "
                "to read more]")
    return ("\n".join(shown) + note if shown else f"{path} is empty ({size} bytes)" + note), True


def _atomic_write(target: Path, content: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o777)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _check_read(ctx: ToolContext, target: Path, path: str) -> None:
    if target.exists() and str(target) not in _reads(ctx):
        raise ToolError(f"{path!r} exists and has not been read in this session: read it first, then write or edit")


async def write(path: str, content: str, ctx: ToolContext, sandbox: bool = False) -> str:
    """Create a file in the workspace, or overwrite one you read in this session (prefer edit for changes).
    Parent folders are created. A script the person should see goes into a cell (notebook_insert_cell); a file
    here is for jobs (hf_jobs script="train.py"), data and notes.

    Args:
        path: file path relative to the workspace, e.g. "train.py".
        content: the complete new content of the file.
        sandbox: write it in the GPU sandbox started with sandbox_create instead of the local workspace.
    """
    if sandbox:
        data = await _remote(ctx).write(path, content)
        return f"Wrote {data.get('bytes', len(content.encode()))} bytes to {path} in the sandbox."
    target = confine(ctx, path)
    if target.is_dir():
        raise ToolError(f"{path!r} is a directory")
    _check_read(ctx, target, path)
    existed = target.exists()
    _atomic_write(target, content)
    _reads(ctx).add(str(target))
    return f"{'Overwrote' if existed else 'Created'} {path} ({len(content.encode())} bytes)."


EditMode = Literal["replace", "append_after", "prepend_before"]


async def edit(path: str, old_str: str, new_str: str, ctx: ToolContext, replace_all: bool = False,
               mode: EditMode = "replace") -> str:
    """Change exact text in a workspace file you read in this session: the way to fix a script (not write).

    Copy old_str from the file exactly as read, indentation included, without the line-number prefix. To delete
    text, pass new_str "". Example: {"path": "train.py", "old_str": "learning_rate=2e-4",
    "new_str": "learning_rate=5e-5"}.

    Args:
        path: file path in the workspace, e.g. "train.py".
        old_str: the exact text to find; must occur once, unless replace_all.
        new_str: the replacement (replace), or the text to insert (append_after, prepend_before).
        replace_all: apply to every occurrence (renaming a variable).
        mode: replace (default), append_after (insert new_str after old_str, keeping it) or prepend_before.
    """
    target = confine(ctx, path)
    if not target.is_file():
        raise ToolError(f"{path!r} does not exist; create it with write")
    _check_read(ctx, target, path)
    with open(open_regular(target, path), "rb") as handle:
        data = handle.read()
    if b"\x00" in data[:BINARY_SNIFF]:
        raise ToolError(f"{path!r} is a binary file; it cannot be edited as text")
    text = data.decode("utf-8")
    count = text.count(old_str) if old_str else 0
    if count == 0:
        raise ToolError(f"old_str was not found in {path}; read the file again and copy the text exactly")
    if count > 1 and not replace_all:
        raise ToolError(f"old_str occurs {count} times in {path}: add context to make it unique, or replace_all=true")
    if old_str == new_str and mode == "replace":
        raise ToolError("old_str and new_str are the same: nothing would change")
    replacement = {"replace": new_str, "append_after": old_str + new_str, "prepend_before": new_str + old_str}[mode]
    _atomic_write(target, text.replace(old_str, replacement, -1 if replace_all else 1))
    done = count if replace_all else 1
    verb = {"replace": "replacement(s)", "append_after": "insertion(s) after", "prepend_before": "insertion(s) before"}
    return f"Edited {path}: {done} {verb[mode]}."


class _Capped:
    """Head and tail of a stream of text, bounded."""

    def __init__(self, keep: int = BASH_KEEP) -> None:
        self.head = ""
        self.tail = ""
        self.dropped = 0
        self.keep = keep

    def add(self, text: str) -> None:
        if len(self.head) < self.keep // 2:
            room = self.keep // 2 - len(self.head)
            self.head += text[:room]
            text = text[room:]
        self.tail += text
        if len(self.tail) > self.keep // 2:
            self.dropped += len(self.tail) - self.keep // 2
            self.tail = self.tail[-(self.keep // 2):]

    def text(self) -> str:
        middle = f"\n[... {self.dropped} characters of output cut ...]\n" if self.dropped else ""
        return self.head + middle + self.tail


async def bash(command: str, ctx: ToolContext, timeout: int = BASH_DEFAULT_TIMEOUT, sandbox: bool = False,
               description: str | None = None, work_dir: str | None = None) -> ToolReturn:
    """Run a shell command in the workspace (its own process group, killed on timeout or stop). Most commands
    wait for the person's approval. For files use read, write and edit, not cat/sed/echo. Chain dependent steps
    with &&; independent commands are separate calls. Anything over a few minutes (training, big downloads) is
    a job: hf_jobs runtime='local' or HF Jobs, which stream logs and do not hold up the session.

    Args:
        command: the bash command line, e.g. "python -c 'import trl; print(trl.__version__)'".
        timeout: seconds before the command is killed (default 120, max 1800).
        sandbox: run it in the GPU sandbox started with sandbox_create (CUDA smoke tests) instead of here.
        description: what the command does in a few words, shown to the person, e.g. "check the trl version".
        work_dir: a folder of the workspace to run in (default: the workspace itself).
    """
    timeout = max(1, min(int(timeout), BASH_MAX_TIMEOUT))
    if sandbox:
        if work_dir not in (None, "", "."):
            command = f"cd {shlex.quote(str(work_dir))} && {command}"
        data = await _remote(ctx).exec(command, timeout)
        text = str(data.get("output", ""))
        if text:
            ctx.output(text[:4_000])
        if data.get("timed_out"):
            return ToolReturn(f"{text}\n[killed in the sandbox after the timeout of {timeout}s]", ok=False)
        status = f"[exit code {data.get('exit_code')} in the sandbox]"
        return ToolReturn(f"{text}\n{status}" if text else status, ok=data.get("exit_code") == 0)
    ctx.workspace.mkdir(parents=True, exist_ok=True)
    cwd = confine(ctx, work_dir) if work_dir not in (None, "", ".") else ctx.workspace
    if not cwd.is_dir():
        raise ToolError(f"work_dir {work_dir!r} is not a folder of the workspace")
    argv, env = local_launch(["bash", "-c", command], ctx.workspace, approved_by=ctx.approved_by)
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=str(cwd), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True, env=env,
    )
    output = _Capped()

    async def pump() -> None:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(65_536):
            text = chunk.decode("utf-8", "replace")
            output.add(text)
            ctx.output(text[:4_000])

    timed_out = False
    both = asyncio.gather(pump(), proc.wait())
    # On a stop the gather ends cancelled; reading its outcome keeps asyncio from logging it into the notebook.
    both.add_done_callback(lambda f: f.cancelled() or f.exception())
    try:
        await asyncio.wait_for(both, timeout)
    except TimeoutError:
        timed_out = True
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # the whole group: children started by the command too
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 5)
    text = output.text()
    if timed_out:
        return ToolReturn(f"{text}\n[killed after the timeout of {timeout}s; pass a larger timeout or run it as a "
                          "job with hf_jobs runtime='local']", ok=False)
    status = f"[exit code {proc.returncode}]"
    return ToolReturn(f"{text}\n{status}" if text else status, ok=proc.returncode == 0)


def sandbox_tools() -> list[Tool]:
    return [Tool.from_function(bash), Tool.from_function(read, access="read"),
            Tool.from_function(write, access="session"),
            # Claude Code's names for the same arguments.
            Tool.from_function(edit, access="session", aliases={"old_string": "old_str", "new_string": "new_str"})]
