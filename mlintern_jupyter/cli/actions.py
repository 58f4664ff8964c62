"""The session actions of the `mlintern` command, through the same functions the line magics call.

This module is the one place the command reaches session actions; re-point it when the typed command dispatcher
(`mlintern_jupyter/jupyter/`) lands. Today it calls:

* `sessions`  -> `jupyter.records.list_sessions` + `records.sessions_text`  (as `%intern sessions`)
* `export`    -> `jupyter.records.export_by_id`                          (as the panel's export; `%intern export`
                 calls `records.export`, both `agent.export.export_notebook`)
* `upload`    -> `jupyter.records.upload` = `agent.upload.upload_session` (as `%intern upload`)
* `traces`    -> `jupyter.records.traces` = `agent.upload.set_traces`     (as `%intern traces`)
* `approve`   -> `SessionCore.approve` / `deny` (what a card's Approve / Deny calls through the controller)

A session is opened here from its log, with no kernel: the log is folded (`core.fold_log`) into a `SessionCore`
whose model only carries the name (nothing here calls a model). A session a live kernel is running is not
written to from outside it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..agent.core import SessionConfig, SessionCore, fold_log
from ..agent.messages import Message
from ..agent.models.base import ModelConfigError, ModelSettings, approximate_tokens
from ..agent.sessions_index import list_sessions as index_sessions
from ..agent.sessions_index import summarize
from ..agent.store import read_events, resolve_session_id, sessions_dir
from ..jupyter import records
from .notebooks import BadInput


class LogOnlyModel:
    """Stands for the session's model while a command records events; it is never asked anything."""

    offline = True
    context_window = 200_000

    def __init__(self, name: str) -> None:
        self.name = name

    async def request(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], settings: ModelSettings,
                      on_delta: Any = None) -> Any:
        raise ModelConfigError("a session opened by the mlintern command cannot call its model")

    def count_tokens(self, message: Message) -> int:
        return approximate_tokens(message)


class _NoTools:
    names: list[str] = []

    def get(self, name: str) -> None:
        return None

    def schemas(self) -> list[dict[str, Any]]:
        return []

    def __iter__(self) -> Iterator[Any]:
        return iter(())


def session_id_for(ref: str, home: Path | None = None) -> str:
    try:
        return resolve_session_id(ref, home)
    except FileNotFoundError as exc:
        raise BadInput(str(exc)) from None


def idle_session(ref: str, home: Path | None = None) -> str:
    """The id of the session `ref` names, refusing one a live kernel is running (its log is written there)."""
    session_id = session_id_for(ref, home)
    summary = summarize(sessions_dir(home) / session_id)
    if summary is None:
        raise BadInput(f"no session {ref!r} under {sessions_dir(home)}")
    if summary.state == "running":
        raise BadInput(f"session {summary.name} is running in a kernel: use %intern in that notebook, or stop it")
    return session_id


@contextmanager
def opened(ref: str, home: Path | None = None) -> Iterator[SessionCore]:
    """The session `ref` names (id, short name or unique prefix), folded from its log, closed afterwards."""
    session_id = idle_session(ref, home)
    restored = fold_log(read_events(sessions_dir(home) / session_id / "events.jsonl"), "")
    session = SessionCore(SessionConfig(model=restored.state.model), _NoTools(), model=LogOnlyModel(restored.state.model),
                          session_id=session_id, home=home, restored=restored)
    try:
        yield session
    finally:
        uploader = session.services.trace_uploader
        if uploader is not None:
            uploader.close()
        session.close()


def sessions(home: Path | None = None, limit: int = 50) -> str:
    return records.sessions_text(records.list_sessions(home, limit=limit))


def export(ref: str, path: str, home: Path | None = None) -> str:
    return records.export_by_id(session_id_for(ref, home), path, home)


def upload(ref: str, home: Path | None = None) -> str:
    with opened(ref, home) as session:
        return records.upload(session)


def traces(mode: str | None, ref: str, home: Path | None = None) -> str:
    with opened(ref, home) as session:
        return records.traces(session, mode)


def approve(ref: str, nonce: str, *, deny: bool = False, feedback: str = "", home: Path | None = None) -> str:
    """Record a person's answer; `mlintern resume` then continues the call through the same gate."""
    with opened(ref, home) as session:
        record = session.approvals.records.get(nonce)
        if record is None:
            raise BadInput(f"no approval {nonce!r} in session {session.name}")
        if record.decision is not None:
            raise BadInput(f"approval {nonce} is already {record.decision}")
        changed = session.deny(nonce, feedback) if deny else session.approve(nonce, feedback=feedback)
        if not changed:
            raise BadInput(f"approval {nonce} did not change")
        verb = "Denied" if deny else "Approved"
        return f"{verb} {record.spec.tool} in session {session.name}; continue it with: mlintern resume {session.name}"


def latest_session(home: Path | None = None) -> str:
    found = index_sessions(home)
    if not found:
        raise BadInput(f"no sessions under {sessions_dir(home)}")
    return found[0].session_id
