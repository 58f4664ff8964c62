"""A host without a notebook: the same commands and the same dispatcher, for a console script or a test.

    from mlintern_jupyter.control import commands as c
    from mlintern_jupyter.control.headless import headless_dispatcher

    send = headless_dispatcher(continue_turns=True)
    send(c.Resume(session_id="20261201-101500-3f2b"))      # the session, folded from its log
    send(c.Approve(nonce="..."))                           # recorded; with continue_turns the turn runs on now
    send(c.Sessions()).data["sessions"]; send(c.Export(path="s.ipynb")); send(c.Upload()); send(c.SetTraces(mode="off"))

A session is opened from its log (`Session.resume`), so it must not be live in a kernel at the same time: a log
whose turn is open and was written in the last minutes is refused (answer it in its notebook). Turns run here in
the foreground (no person can click: approvals end the turn, as under --wait); there is no cell to write into, so
insertions stay in the log (a headless notebook writer places them: `notebook_cells.place_inserted_cells`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from ..agent.session import Session, SessionConfig
from ..agent.sessions_index import summarize
from ..agent.store import resolve_session_id, sessions_dir
from . import commands as c
from .dispatcher import Dispatcher, checked_model, model_problem
from .model_choice import NO_MODEL_HELP, choose_model
from .settings import NextSession, requested_effort

Reply = c.Reply


def _default_tools() -> Any:
    from ..tools import ToolsConfig, default_tools

    return default_tools(ToolsConfig())


class HeadlessHost:
    def __init__(self, home: Path | None = None, *, tools: Callable[[], Any] | None = None,
                 continue_turns: bool = False) -> None:
        self.home = home
        self.tools = tools or _default_tools
        # Run a turn on when an answer (or a raised budget) lets it continue; else the reply says how to.
        self.continue_turns = continue_turns
        self._session: Session | None = None
        self.last_end: Any = None

    @property
    def session(self) -> Session | None:
        return self._session

    @property
    def queued(self) -> int:
        return 0

    def close(self) -> None:
        if self._session is not None:
            uploader = self._session.services.trace_uploader
            if uploader is not None:  # flush what it holds before the log closes
                uploader.close()
            self._session.close()
            self._session = None

    def _run_turn(self, prompt: str | None) -> Any:
        session = self._session
        assert session is not None
        session.config.person_present = False
        self.last_end = asyncio.run(session.run_turn(prompt))
        return self.last_end

    def start_prompt(self, command: c.Prompt, next_session: NextSession, *, in_cell: bool) -> Reply:
        if self._session is None or command.new:
            name = choose_model(command.model, next_session.model, "")
            if name is None:
                return Reply(ok=False, message=NO_MODEL_HELP)
            try:
                model = checked_model(name, command.api_base)
            except Exception as exc:  # noqa: BLE001 - ModelConfigError: one line, nothing written
                return Reply(ok=False, message=model_problem(name, exc))  # type: ignore[arg-type]
            config = SessionConfig(model=model.name, approve_mode=command.approve or "ask",
                                   budget_usd=command.budget if command.budget is not None else next_session.budget,
                                   max_iterations=command.max_iterations or 300, api_base=command.api_base,
                                   reasoning_effort=requested_effort(command.effort, next_session.effort, None))
            self.close()
            self._session = Session(config, self.tools(), model=model, home=self.home)
        end = self._run_turn(command.text)
        return Reply(ok=end.reason == "done", message=f"Turn ended: {end.reason}" + (
            f" ({end.message})" if end.message else ""), data={"session_id": self._session.id})

    def stop(self, turn_id: str | None) -> Reply:
        return Reply(ok=False, message="Nothing is running.")

    def resume(self, session_id: str, *, in_cell: bool, wait: bool = False) -> Reply:
        try:
            resolved = resolve_session_id(session_id, self.home)
        except FileNotFoundError as exc:
            return Reply(ok=False, message=f"Cannot resume {session_id}: {exc}")
        summary = summarize(sessions_dir(self.home) / resolved)
        if summary is not None and summary.state == "running":
            return Reply(ok=False, message=f"Session {summary.name or resolved} is running in a kernel (its log was "
                                           "written in the last minutes): answer it in its notebook.")
        try:
            session = Session.resume(resolved, self.tools(), home=self.home)
        except FileNotFoundError as exc:
            return Reply(ok=False, message=f"Cannot resume {session_id}: {exc}")
        self.close()
        self._session = session
        if (wait or self.continue_turns) and session.ready_to_continue():
            self._run_turn(None)  # answers given meanwhile: their calls run now, through the same gate
        pending = len(session.approvals.pending())
        return Reply(ok=True, message=f"Resumed {session.name} ({pending} approval(s) pending).",
                     data={"session_id": session.id, "pending": [r.nonce for r in session.approvals.pending()]})

    def continue_turn(self, nonce: str | None) -> None:
        if self.continue_turns:
            self._run_turn(None)

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        return asyncio.run(asyncio.wait_for(coro, timeout))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        asyncio.run(coro)

    def offer_next_input(self, source: str) -> bool:
        return False


def headless_dispatcher(home: Path | None = None, *, tools: Callable[[], Any] | None = None,
                        continue_turns: bool = False) -> Dispatcher:
    """The dispatcher a console script sends commands to (no kernel): see the module docstring."""
    return Dispatcher(HeadlessHost(home, tools=tools, continue_turns=continue_turns))
