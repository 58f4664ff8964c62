"""The `mlintern` comm: the kernel half of the bridge to the JupyterLab side panel.

Frontend -> kernel: `{v, id, command}`, a typed command (`control/commands.py`) of protocol version `v`; the
comm's open message carries the first one (`hello`). Each goes to the one dispatcher; its reply comes back as
`{type: 'reply', v, id, command, ok, message, data}`. A message of another protocol version (a panel from an older
release) is answered with `{type: 'error', v, code: 'version', message}` and nothing happens; a command of this
version with bad input gets a reply with ok false and the reason.
Kernel -> frontend: `{type: 'events', v, events, session_id}` (the whole history, on hello and when the notebook
switches sessions), then `{type: 'event', v, event}` for each new event (the same JSON as events.jsonl).

Knows nothing of the notebook agent: it is given the dispatcher and a way to read the history.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from ..agent import events as ev
from ..control.commands import PROTOCOL_VERSION, CommandError, Reply, parse_message

TARGET = "mlintern"
Dispatch = Callable[[Any], Reply]


class CommBridge:
    def __init__(self, dispatch: Dispatch) -> None:
        self.dispatch = dispatch
        self.comms: list[Any] = []
        # Comms whose panel said hello in this protocol version: they insert cells and acknowledge them.
        self.attached: list[Any] = []
        self.manager: Any = None
        # When each comm was last sent a cell_insert it has not acknowledged yet (None: nothing owed).
        self._owed: dict[int, float] = {}

    @property
    def connected(self) -> bool:
        return bool(self.attached)

    def register(self, manager: Any) -> None:
        if manager is None:
            return
        self.manager = manager
        manager.register_target(TARGET, self._opened)

    def unregister(self) -> None:
        if self.manager is not None:
            with contextlib.suppress(KeyError, AttributeError):
                self.manager.unregister_target(TARGET, self._opened)
        for comm in list(self.comms):
            comm.close()
        self.comms.clear()
        self.attached.clear()

    def _opened(self, comm: Any, open_msg: dict[str, Any]) -> None:
        self.comms.append(comm)
        comm.on_msg(lambda msg: self.handle(comm, msg["content"]["data"]))
        comm.on_close(lambda _msg: self._drop(comm))
        data = open_msg.get("content", {}).get("data")
        if data:
            self.handle(comm, data)

    def _drop(self, comm: Any) -> None:
        for group in (self.comms, self.attached):
            if comm in group:
                group.remove(comm)
        self._owed.pop(id(comm), None)

    def _send(self, comm: Any, message: dict[str, Any]) -> bool:
        try:
            comm.send({**message, "v": PROTOCOL_VERSION})
            return True
        except Exception:  # noqa: BLE001 - a closed frontend must not stop the agent
            self._drop(comm)
            return False

    def send_event(self, event: ev.Event) -> None:
        message = {"type": "event", "event": event.to_dict()}
        for comm in list(self.attached):
            if self._send(comm, message) and isinstance(event, ev.CellInsert):
                self._owed.setdefault(id(comm), time.monotonic())

    def send_history(self, comms: list[Any] | None = None) -> None:
        """The whole session so far: on hello, and when the notebook switches to a new or resumed session
        (whose session_started was emitted before the bridge could subscribe)."""
        reply = self.dispatch({"type": "hello"})
        message = {"type": "events", **(reply.data or {})}
        for comm in list(self.attached if comms is None else comms):
            self._send(comm, message)

    def acknowledged(self, comm: Any) -> None:
        self._owed.pop(id(comm), None)

    def stale(self, before: float) -> bool:
        """Every attached panel still owes an acknowledgement for a cell it was sent before `before` (a monotonic
        time): none of them is really there (a tab closed without closing its comm)."""
        return bool(self.attached) and all(self._owed.get(id(c), before) < before for c in self.attached)

    def handle(self, comm: Any, data: Any) -> None:
        """One message from the frontend: a versioned command for the dispatcher; never acted on if malformed."""
        try:
            request_id, command = parse_message(data)
        except CommandError as exc:
            request_id = data.get("id") if isinstance(data, dict) else None
            if exc.code == "version" or not isinstance(request_id, str):
                self._send(comm, {"type": "error", "code": exc.code, "message": str(exc), "id": request_id})
            else:  # a command of this version with bad input: its reply says why, as for any other command
                self._send(comm, {"type": "reply", "id": request_id, "command": None, "ok": False,
                                  "message": str(exc), "data": None})
            return
        if command.type == "hello":
            if comm not in self.attached:
                self.attached.append(comm)
            self.send_history([comm])
            return
        if command.type == "cell_ack":
            self.acknowledged(comm)
        reply = self.dispatch(command)
        self._send(comm, {"type": "reply", "id": request_id, "command": command.type, "ok": reply.ok,
                          "message": reply.message, "data": reply.data})
