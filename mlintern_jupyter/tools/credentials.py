"""Which secrets local code (bash, local jobs) may see.

Local code runs with the person's privileges, so an instruction planted in a tool output could make it write to
the Hub with the person's token. Credentials therefore go only to an action a person approved on its card;
anything approved by policy (`--approve auto`) or by an allow-list runs without them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.IGNORECASE)


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
