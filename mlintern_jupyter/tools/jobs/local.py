"""The local runtime: a job is a subprocess in its own process group, its output in a log file.

The process writes straight to the file (not a pipe), so a job survives a kernel restart and a resumed session
re-attaches by tailing the same file. A small `sh` wrapper records the exit code next to it. Nothing here
blocks the event loop: the process is an asyncio subprocess and the file is read in small polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

# Runs the job, then writes its exit code: `sh -c WRAPPER sh EXIT_FILE argv...`.
WRAPPER = 'f="$1"; shift; "$@"; code=$?; echo "$code" > "$f"; exit "$code"'
POLL_S = 0.05
KILL_GRACE_S = 3.0
READ_CHUNK = 1 << 18  # bounded work and memory per poll, even when a job floods its log


def missing_dependencies(dependencies: list[str]) -> list[str]:
    """Declared dependencies that the current Python does not have installed."""
    missing = []
    for dep in dependencies:
        try:
            name = Requirement(dep).name
        except InvalidRequirement:
            missing.append(dep)
            continue
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(dep)
    return missing


def uv_argv(script_path: Path, dependencies: list[str], script_args: list[str]) -> tuple[list[str], str]:
    """How to run a uv script locally: the current Python when it has the dependencies (or uv is absent)."""
    missing = missing_dependencies(dependencies)
    uv = shutil.which("uv")
    if missing and uv:
        with_args = [a for dep in dependencies for a in ("--with", dep)]
        return [uv, "run", "--no-project", *with_args, str(script_path), *script_args], f"uv run (installs {missing})"
    note = f"{sys.executable} (uv not found; not installed here: {', '.join(missing)})" if missing else sys.executable
    return [sys.executable, str(script_path), *script_args], note


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0): reap it if it is ours, and read its state where /proc exists (an orphan
    # in a container whose init does not reap stays a zombie).
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def kill_group(pid: int, sig: int = signal.SIGTERM) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class LocalProcess:
    """One launched (or re-attached) local job process."""

    def __init__(self, pid: int, log_path: Path, exit_path: Path, proc: asyncio.subprocess.Process | None = None):
        self.pid = pid
        self.log_path = log_path
        self.exit_path = exit_path
        self.proc = proc

    @classmethod
    async def start(cls, argv: list[str], *, cwd: Path, env: dict[str, str], log_path: Path) -> LocalProcess:
        exit_path = log_path.with_suffix(".exit")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                "sh", "-c", WRAPPER, "sh", str(exit_path), *argv,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
                cwd=str(cwd), env=env, start_new_session=True,  # own process group: cancel kills all of it
            )
        return cls(proc.pid, log_path, exit_path, proc)

    def exit_code(self) -> int | None:
        if self.proc is not None and self.proc.returncode is not None:
            return self.proc.returncode
        try:
            return int(self.exit_path.read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        if self.proc is not None:
            return self.proc.returncode is None
        return pid_alive(self.pid)

    async def wait(self) -> None:
        if self.proc is not None:
            await self.proc.wait()
            return
        while pid_alive(self.pid):
            await asyncio.sleep(0.2)

    async def terminate(self) -> None:
        """SIGTERM the whole group, SIGKILL after a grace period."""
        kill_group(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE_S
        while self.running() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.running():
            kill_group(self.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.wait(), timeout=5)


async def tail_file(path: Path, feed: Callable[[list[str]], None], done: Callable[[], bool]) -> None:
    """Feed complete lines of a growing file until `done()` and the file is drained."""
    remainder = b""
    position = 0
    while True:
        finished = done()
        try:
            with path.open("rb") as handle:
                handle.seek(position)
                while True:
                    chunk = handle.read(READ_CHUNK)
                    if not chunk:
                        break
                    position += len(chunk)
                    data = remainder + chunk
                    *lines, remainder = data.split(b"\n")
                    if lines:
                        feed([line.decode("utf-8", "replace").rstrip("\r") for line in lines])
                    await asyncio.sleep(0)  # a flood of output must not starve the loop
        except FileNotFoundError:
            pass
        if finished:
            if remainder:
                feed([remainder.decode("utf-8", "replace")])
            return
        await asyncio.sleep(POLL_S)


def write_record(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)


def read_records(folder: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(folder.glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            records.append(json.loads(path.read_text()))
    return records
