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
import signal
import stat
import tempfile
from pathlib import Path
from typing import Any

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
        raise ToolError(f"{path!r} is outside the workspace ({root}); only files there can be used")
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
    more = f"\n[showing lines {offset + 1}-{offset + len(shown)} of {len(lines)}; pass offset= to read more]" \
        if offset + len(shown) < len(lines) else ""
    return "\n".join(shown) + more


async def read(path: str, ctx: ToolContext, offset: int = 0, limit: int = READ_LINES, sandbox: bool = False) -> str:
    """Read a text file from the workspace, with line numbers.

    Args:
        path: file path relative to the workspace.
        offset: first line to show (0-based).
        limit: how many lines to show (max 2000).
        sandbox: read it inside the GPU sandbox started with sandbox_create instead of the local workspace.
    """
    limit = max(1, min(limit, READ_LINES))
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
        note = f"\n[showing lines {offset + 1}-{offset + len(shown)} of {total}; pass offset= to read more]"
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
    """Create or overwrite a file in the workspace (an existing file must have been read first).

    Args:
        path: file path relative to the workspace.
        content: the complete new content of the file.
        sandbox: write it inside the GPU sandbox started with sandbox_create instead of the local workspace.
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


async def edit(path: str, old_string: str, new_string: str, ctx: ToolContext, replace_all: bool = False) -> str:
    """Replace exact text in a workspace file that was read in this session.

    Args:
        path: file path relative to the workspace.
        old_string: the exact text to replace (must be unique unless replace_all).
        new_string: the replacement text.
        replace_all: replace every occurrence instead of exactly one.
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
    count = text.count(old_string) if old_string else 0
    if count == 0:
        raise ToolError(f"old_string was not found in {path}; read the file again and copy the text exactly")
    if count > 1 and not replace_all:
        raise ToolError(f"old_string occurs {count} times in {path}: add context to make it unique, or replace_all=true")
    _atomic_write(target, text.replace(old_string, new_string) if replace_all else text.replace(old_string, new_string, 1))
    return f"Edited {path}: {count if replace_all else 1} replacement(s)."


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


async def bash(command: str, ctx: ToolContext, timeout: int = BASH_DEFAULT_TIMEOUT,
               sandbox: bool = False) -> ToolReturn:
    """Run a shell command in the workspace directory (its own process group; killed on timeout or stop).

    Args:
        command: the bash command line.
        timeout: seconds before the command is killed (default 120, max 1800).
        sandbox: run it inside the GPU sandbox started with sandbox_create instead of on this machine.
    """
    timeout = max(1, min(int(timeout), BASH_MAX_TIMEOUT))
    if sandbox:
        data = await _remote(ctx).exec(command, timeout)
        text = str(data.get("output", ""))
        if text:
            ctx.output(text[:4_000])
        if data.get("timed_out"):
            return ToolReturn(f"{text}\n[killed in the sandbox after the timeout of {timeout}s]", ok=False)
        status = f"[exit code {data.get('exit_code')} in the sandbox]"
        return ToolReturn(f"{text}\n{status}" if text else status, ok=data.get("exit_code") == 0)
    ctx.workspace.mkdir(parents=True, exist_ok=True)
    argv, env = local_launch(["bash", "-c", command], ctx.workspace, approved_by=ctx.approved_by)
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=str(ctx.workspace), stdin=asyncio.subprocess.DEVNULL,
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
            Tool.from_function(write, access="session"), Tool.from_function(edit, access="session")]
