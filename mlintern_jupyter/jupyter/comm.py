"""The `mlintern` comm: the kernel half of the bridge to the JupyterLab side panel.

Frontend -> kernel: `{type: 'hello'}` (answered with every event of the session so far), `prompt`, `approval`,
`stop`, `model`, `job_cancel`, `sessions`, `resume`, `export`. Kernel -> frontend: `{type: 'events', events}`,
then `{type: 'event', event}` for each new event (the same JSON as events.jsonl), and replies where asked.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from ..agent import events as ev

if TYPE_CHECKING:
    from .controller import NotebookAgent

TARGET = "mlintern"


class CommBridge:
    def __init__(self, agent: NotebookAgent) -> None:
        self.agent = agent
        self.comms: list[Any] = []
        self.manager: Any = None

    @property
    def connected(self) -> bool:
        return bool(self.comms)

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

    def _opened(self, comm: Any, open_msg: dict[str, Any]) -> None:
        self.comms.append(comm)
        comm.on_msg(lambda msg: self.handle(comm, msg["content"]["data"]))
        comm.on_close(lambda _msg: self.comms.remove(comm) if comm in self.comms else None)
        data = open_msg.get("content", {}).get("data") or {}
        if data.get("type") == "hello":
            self.handle(comm, data)

    def send_event(self, event: ev.Event) -> None:
        if not self.comms:
            return
        message = {"type": "event", "event": event.to_dict()}
        for comm in list(self.comms):
            try:
                comm.send(message)
            except Exception:  # noqa: BLE001 - a closed frontend must not stop the agent
                self.comms.remove(comm)

    def send_history(self, comms: list[Any] | None = None) -> None:
        """The whole session so far: on hello, and when the notebook switches to a new or resumed session
        (whose session_started was emitted before the bridge could subscribe)."""
        session = self.agent.session
        message = {"type": "events", "events": [e.to_dict() for e in session.events] if session is not None else [],
                   "session_id": session.id if session is not None else None}
        for comm in list(self.comms if comms is None else comms):
            try:
                comm.send(message)
            except Exception:  # noqa: BLE001 - a closed frontend must not stop the agent
                if comm in self.comms:
                    self.comms.remove(comm)

    def handle(self, comm: Any, data: Any) -> None:
        """One message from the frontend; malformed ones are answered with an error, never acted on."""
        if not isinstance(data, dict):
            comm.send({"type": "error", "message": "messages must be JSON objects"})
            return
        agent = self.agent
        match data.get("type"):
            case "hello":
                self.send_history([comm])
            case "prompt" if isinstance(data.get("text"), str):
                agent.prompt(data["text"], cell_id=data.get("cell_id"), wait=False, view=None)
            case "approval":
                decision = data.get("decision")
                ok = agent.answer(data.get("nonce"), decision if decision in ("approve", "deny") else "malformed",
                                  str(data.get("feedback") or ""))
                comm.send({"type": "approval_ack", "nonce": data.get("nonce"), "ok": ok})
            case "stop":
                agent.stop()
            case "model" if isinstance(data.get("model"), str):
                comm.send({"type": "notice", "message": agent.set_model(data["model"])})
            case "job_cancel" if isinstance(data.get("job_id"), str):
                agent.cancel_job(data["job_id"])
            case "sessions":
                comm.send({"type": "sessions", "sessions": agent.list_sessions()})
            case "resume" if isinstance(data.get("session_id"), str):
                comm.send({"type": "notice", "message": agent.resume(data["session_id"], display_view=False)})
            case "export" if isinstance(data.get("path"), str):
                session_id = data.get("session_id")
                message = (agent.export_session(session_id, data["path"]) if isinstance(session_id, str)
                           else agent.export(data["path"]))
                comm.send({"type": "notice", "message": message})
            case other:
                comm.send({"type": "error", "message": f"unknown or malformed message type {other!r}"})
