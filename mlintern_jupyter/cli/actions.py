"""The session actions of the `mlintern` command: the same typed commands the magics, the panel and the cards
send, to the same dispatcher (`control.dispatcher`), here hosted without a kernel (`control.headless`).

* `sessions` -> `Sessions`            `export` -> `Export(session_id=...)`
* `upload`   -> `Resume`, `Upload`    `traces` -> `Resume`, `SetTraces` (or `Show(what="traces")`)
* `approve`  -> `Resume`, `Approve` / `Deny`: the answer is recorded; `mlintern resume` (a kernel running
  `%intern resume ID --wait`) continues the call through the engine's one gate.

A session a live kernel is running is not written to from outside it. A reply that is not ok is bad input: one
line on stderr, exit 64.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..agent.sessions_index import list_sessions as index_sessions
from ..agent.sessions_index import summarize
from ..agent.store import resolve_session_id, sessions_dir
from ..control import commands as c
from ..control.dispatcher import Dispatcher
from ..control.headless import headless_dispatcher
from .notebooks import BadInput


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


def _no_tools() -> Any:
    # Nothing here runs a tool: answers are recorded, and the kernel that resumes runs them through its gate.
    from ..tools.registry import ToolRegistry

    return ToolRegistry()


def send(dispatcher: Dispatcher, command: Any) -> c.Reply:
    """Dispatch one command; a refusal is bad input (its one line is the message)."""
    reply = dispatcher.dispatch(command)
    if not reply.ok:
        raise BadInput(reply.message)
    return reply


@contextmanager
def opened(ref: str, home: Path | None = None) -> Iterator[Dispatcher]:
    """A dispatcher holding the session `ref` names (id, short name or unique prefix), closed afterwards."""
    dispatcher = headless_dispatcher(home, tools=_no_tools)
    try:
        send(dispatcher, c.Resume(session_id=idle_session(ref, home)))
        yield dispatcher
    finally:
        dispatcher.host.close()  # type: ignore[attr-defined]


def sessions(home: Path | None = None, limit: int = 50) -> str:
    return headless_dispatcher(home).dispatch(c.Sessions(limit=limit)).message


def export(ref: str, path: str, home: Path | None = None) -> str:
    return send(headless_dispatcher(home), c.Export(path=path, session_id=session_id_for(ref, home))).message


def upload(ref: str, home: Path | None = None) -> c.Reply:
    with opened(ref, home) as dispatcher:
        return dispatcher.dispatch(c.Upload())


def traces(mode: str | None, ref: str, home: Path | None = None) -> str:
    with opened(ref, home) as dispatcher:
        return send(dispatcher, c.SetTraces.model_validate({"mode": mode}) if mode else c.Show(what="traces")).message


def approve(ref: str, nonce: str, *, deny: bool = False, feedback: str = "", home: Path | None = None) -> str:
    """Record a person's answer; `mlintern resume` then continues the call through the same gate."""
    with opened(ref, home) as dispatcher:
        session = dispatcher.session
        send(dispatcher, c.Deny(nonce=nonce, feedback=feedback) if deny else c.Approve(nonce=nonce, feedback=feedback))
        tool = session.approvals.records[nonce].spec.tool
        verb = "Denied" if deny else "Approved"
        return f"{verb} {tool} in session {session.name}; continue it with: mlintern resume {session.name}"


def latest_session(home: Path | None = None) -> str:
    found = index_sessions(home)
    if not found:
        raise BadInput(f"no sessions under {sessions_dir(home)}")
    return found[0].session_id
