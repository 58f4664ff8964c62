"""Which secrets local code (bash, local jobs) may see, and whether it runs in the OS sandbox.

Local code runs with the person's privileges, so an instruction planted in a tool output could make it write to
the Hub with the person's token. Credentials therefore go only to an action a person approved on its card;
anything approved by policy (`--approve auto`) or by an allow-list runs without them, and inside bubblewrap
(`os_sandbox`), so the token file, the kernel's environment (/proc) and other secrets are not even reachable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from .os_sandbox import sandboxed_argv, unavailable_reason

# Substrings, not words: MYAPP_DBPASSWORD and DB_PASS are both dropped (a variable too many is cheap).
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASS|CREDENTIAL|AUTH|COOKIE|DSN", re.IGNORECASE)


def local_process_env(workspace: Path, *, with_credentials: bool, token: str | None = None,
                      extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a local process: ours plus `extra`; secrets only `with_credentials`."""
    env = dict(os.environ)
    if with_credentials:
        if token:
            env["HF_TOKEN"] = token  # by reference in the environment, never on the command line
    else:
        env = {k: v for k, v in env.items() if not SECRET_NAME.search(k)}
        # huggingface_hub would otherwise read the saved token file; point it at nothing.
        env["HF_TOKEN_PATH"] = str(workspace / ".no-hf-token")
        env["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"
    env.update(extra or {})
    return env


def local_launch(argv: list[str], workspace: Path, *, approved_by: str | None, token: str | None = None,
                 extra: dict[str, str] | None = None, readable: Iterable[Path] = ()) -> tuple[list[str], dict[str, str]]:
    """(argv, env) of local code: as the person's own when a person approved it, else without secrets and, where
    bubblewrap runs, inside the OS sandbox (where it cannot, the policy already asked a person under `auto`)."""
    person = approved_by == "person"
    env = local_process_env(workspace, with_credentials=person, token=token, extra=extra)
    if not person and unavailable_reason() is None:
        argv = sandboxed_argv(argv, workspace=workspace, readable=readable)
    return argv, env
