"""The first trace upload of a machine asks once: this machine's answer, kept beside the sessions.

The uploader used to start by itself whenever an HF token existed. Now automatic uploads (at the end of each turn)
wait for a person's yes to a card that names the private dataset, asked once per machine ($MLINTERN_HOME) and
repo template; a no is kept too, so the card does not come back every session. Choosing a mode with
`%intern traces private|public` is a yes; `%intern upload` is an explicit upload of its own and needs none.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from . import events as ev
from .approval import ActionSpec

CONSENT_FILE = "trace_upload_consent.json"
# The call id of the consent card: not a tool call, so no turn waits on it.
CONSENT_CALL = "trace-upload-consent"


def read_json_object(path: Path) -> dict[str, Any]:
    """A small JSON state file as a dict; {} when absent, unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class TraceConsent:
    """This machine's answer for one repo template: True, False, or None (never asked, or asked without answer)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_session(cls, session: Any) -> TraceConsent:
        """The consent of the machine the session lives on: `$MLINTERN_HOME/trace_upload_consent.json`."""
        return cls(Path(session.dir).parent.parent / CONSENT_FILE)

    def _read(self) -> dict[str, Any]:
        return read_json_object(self.path)

    def answer(self, template: str) -> bool | None:
        entry = self._read().get(template)
        return entry.get("allowed") if isinstance(entry, dict) and isinstance(entry.get("allowed"), bool) else None

    def record(self, template: str, allowed: bool, repo_id: str = "") -> None:
        data = self._read()
        data[template] = {"allowed": allowed, "repo_id": repo_id, "ts": ev.now_iso()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.path)


def consent_action(repo_id: str, path_in_repo: str) -> ActionSpec:
    """What the consent card shows and its hash binds: where the traces go, privately."""
    arguments = {"repo_id": repo_id, "repo_type": "dataset", "private": True, "path": path_in_repo}
    return ActionSpec(tool="trace_upload", operation="upload", target=repo_id,
                      arguments_json=json.dumps(arguments, sort_keys=True, separators=(",", ":")))


def consent_reason(repo_id: str) -> str:
    return (f"the first trace upload from this machine: the redacted trace of each session goes to your PRIVATE "
            f"dataset {repo_id} at the end of every turn from now on (asked once; `%intern traces off` stops it)")
