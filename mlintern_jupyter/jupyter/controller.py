"""NotebookAgent: one notebook's session, its agent thread and the views of its turns; the notebook's `Host`.

Every way to steer the session (the magics, the side panel's comm, the inline cards' buttons) sends a typed
command to `self.dispatcher` (`control/dispatcher.py`); this class only does what needs the notebook: start a
turn on the agent thread and show its cards, stop turns, resume into a view, hand a cell to the frontend.
Turns run on the agent thread's loop one at a time (an asyncio.Lock keeps them in order: a prompt sent while a
turn runs is queued and shown as queued). Events reach the view of the turn that produced them and the comm.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from ..agent import events as ev
from ..agent.models import ModelConfigError
from ..agent.session import Session, SessionConfig
from ..agent.trace import write_trace
from ..control import commands as c
from ..control.dispatcher import Dispatcher, checked_model, model_problem, prompt_setting_changes
from ..control.model_choice import NO_MODEL_HELP, choose_model
from ..control.settings import NextSession, budget_note, requested_effort
from ..tools import SlackConfig, ToolsConfig, default_tools
from ..tools.registry import ToolRegistry
from .cells import insert_cell_tool
from .comm import CommBridge
from .kernel_context import KernelContext
from .runner import AgentRunner
from .services import session_services
from .session_facts import SessionFactsSource
from .sigint import SigintHook
from .view import TurnView

# A panel that has not acknowledged a cell it was sent this long before the cell started is not really there.
ACK_WINDOW_S = 2.0
# Errors of a first turn that mean the model was never reached: its empty session is removed.
NEVER_REACHED = ("model_config", "unreachable", "not_found")
Reply = c.Reply


class NotebookAgent:
    def __init__(self, shell: Any, home: Path | None = None,
                 defaults: Callable[[], dict[str, Any]] | None = None) -> None:
        self.shell = shell
        self.home = home
        # The magics' configured defaults (traits), read at each new session.
        self.defaults = defaults or dict
        self.runner = AgentRunner()
        self.kernel_context = KernelContext(shell)
        self.dispatcher = Dispatcher(self, NextSession())
        self.bridge = CommBridge(self.dispatcher.dispatch)
        self.sigint = SigintHook(self.interrupt)
        self.session: Session | None = None
        self.view: TurnView | None = None
        # (future, view) of every submitted drive; the view tells a queued prompt from the running one.
        self.futures: list[tuple[concurrent.futures.Future[Any], TurnView | None]] = []
        self._lock: asyncio.Lock | None = None
        self._queued = 0
        self._route: TurnView | None = None
        self._approval_views: dict[str, TurnView] = {}
        self._views: dict[str, TurnView] = {}
        self._turn_inserts: list[ev.CellInsert] = []
        # Tools the user adds for this notebook (registered into every new or resumed session).
        self.extra_tools: list[Any] = []
        self.tools_config = ToolsConfig()
        self._mcp: list[Any] | None = None
        self._mcp_problems: list[str] = []
        self.tools_config.slack = SlackConfig.from_settings(self.tools_config.user_config().get("slack"))
        self.facts = SessionFactsSource(shell, self.kernel_context, self.tools_config)

    def send(self, command: Any, *, in_cell: bool = False) -> Reply:
        return self.dispatcher.dispatch(command, in_cell=in_cell)

    # ---- lifecycle ----------------------------------------------------------------------------------

    @property
    def kernel(self) -> Any:
        return getattr(self.shell, "kernel", None)

    def start(self) -> None:
        self.kernel_context.register()
        kernel = self.kernel
        self.bridge.register(getattr(kernel, "comm_manager", None) if kernel is not None else None)
        self.sigint.install(kernel)

    def close(self) -> None:
        self.stop(None)
        self.kernel_context.unregister()
        self.bridge.unregister()
        self.sigint.uninstall()
        if self.session is not None:
            self._close_session(self.session)  # before the runner: job watchers stop on the agent loop
        self.runner.close()

    # ---- sessions -----------------------------------------------------------------------------------

    def tools(self) -> ToolRegistry:
        registry = default_tools(self.tools_config)
        for item in (insert_cell_tool(), *self.kernel_context.tools(), *self.extra_tools, *self.mcp_tools()):
            if item.name in registry:
                self._mcp_problems.append(f"{item.name} clashes with a built-in tool; skipped")
                continue
            registry.register(item)
        return registry

    def mcp_tools(self) -> list[Any]:
        """The tools of the MCP servers in $MLINTERN_HOME/config.json, listed once per kernel (on the agent loop)."""
        if self._mcp is None:
            from ..tools.mcp import load_mcp_tools, mcp_servers, name_problems

            self._mcp = []
            if mcp_servers(self.tools_config) or name_problems(self.tools_config):
                try:
                    tools, problems = self.runner.submit(load_mcp_tools(self.tools_config)).result(timeout=120)
                except Exception as exc:  # noqa: BLE001 - a broken server config must not stop the session
                    tools, problems = [], [f"MCP servers could not be listed: {type(exc).__name__}: {exc}"]
                self._mcp, self._mcp_problems = list(tools), list(problems)
        return self._mcp

    def _attach(self, session: Session) -> Session:
        from ..tools.mcp import read_only_mcp_tools, read_only_servers

        session.config.policy.read_only_mcp_servers |= read_only_servers(self.tools_config)
        session.config.policy.read_only_mcp_tools |= read_only_mcp_tools(self.mcp_tools())
        session.config.policy.hf_endpoint = self.tools_config.hf_endpoint  # its /docs/ pages need no approval
        session.subscribe(self._on_event)
        session_services(session, self.tools_config)
        self.session = session
        self.bridge.send_history()
        for problem in self._mcp_problems:
            session.emit(ev.Notice(message=f"MCP: {problem}", level="warning"))
        return session

    def new_session(self, model_name: str, config: SessionConfig) -> Session:
        """Raises ModelConfigError, before anything is written, when the model cannot be used."""
        model = checked_model(model_name, config.api_base)
        config.model = model.name
        if self.session is not None:
            self.stop(None)
            self._close_session(self.session)
        tools = self.tools()
        # The playbook plus this session's context (account, runtime, hardware, notebook, kernel, tool count).
        config.system_prompt = config.system_prompt or self.facts.system_prompt(len(tools))
        return self._attach(Session(config, tools, model=model, home=self.home))

    def _on_event(self, event: ev.Event) -> None:
        view = self._route or self.view
        if view is not None:
            view.update(event)
            if isinstance(event, ev.ApprovalRequested):
                self._approval_views[event.nonce] = view
        if isinstance(event, ev.CellInsert):
            self._turn_inserts.append(event)
        if isinstance(event, ev.TurnEnded) and self.session is not None:
            self._write_trace(self.session)
        self.bridge.send_event(event)

    def _close_session(self, session: Session) -> None:
        """Stop following its jobs (they keep running; a resume re-attaches), flush its uploader, close its log."""
        jobs = session.services.jobs
        if jobs is not None:
            try:
                self.runner.submit(jobs.close()).result(timeout=5)
            except Exception:  # noqa: BLE001 - closing must not fail the next session
                pass
        uploader = session.services.trace_uploader
        if uploader is not None:
            uploader.close()
        session.close()

    def _discard_if_empty(self, session: Session, end: ev.TurnEnded) -> None:
        """A first turn that never reached its model (no server there, no such model, a model that cannot be
        configured) leaves no session behind. A provider that answered, even with a refusal, keeps it."""
        error = next((e for e in reversed(session.events) if isinstance(e, ev.Error)), None)
        if end.reason != "error" or error is None or error.error_type not in NEVER_REACHED \
                or any(e.kind in ("usage", "assistant_message", "tool_call") for e in session.events) \
                or sum(e.kind == "user_prompt" for e in session.events) > 1:
            return
        if self.session is session:
            self.session = None
        session.close()  # nothing ran: no jobs to stop, no trace to upload
        shutil.rmtree(session.dir, ignore_errors=True)

    @staticmethod
    def _write_trace(session: Session) -> None:
        """trace.jsonl beside the log, refreshed at every turn end (redacted; nothing written if that fails)."""
        try:
            write_trace(session.events, session.dir / "trace.jsonl", session.redactor, session_id=session.id,
                        model=session.model.name, cwd=session.state.cwd)
        except Exception as exc:  # noqa: BLE001 - the person is told; the turn itself is over
            session.emit(ev.Notice(message=f"trace.jsonl not written: {type(exc).__name__}", level="warning"))

    def make_view(self) -> TurnView:
        session = self.session
        view = TurnView(offline=bool(session and getattr(session.model, "offline", False)),
                        model=session.model.name if session else "",
                        effort=session.state.reasoning_effort if session else None,
                        session_id=session.id if session else "", send=self.send, renderer="auto")
        self._views[view.turn_id] = view
        return view

    # ---- Host: turns --------------------------------------------------------------------------------

    @property
    def queued(self) -> int:
        return self._queued

    def start_prompt(self, command: c.Prompt, next_session: NextSession, *, in_cell: bool) -> Reply:
        """Start (or continue) the session with this prompt; in a cell, show its cards there."""
        session = self.session
        defaults = self.defaults()
        if session is None or command.new:
            name = choose_model(command.model, next_session.model, defaults.get("model") or "")
            if name is None:
                return Reply(ok=False, message=NO_MODEL_HELP)
            budget = next((b for b in (command.budget, next_session.budget, defaults.get("budget")) if b is not None),
                          None)
            config = SessionConfig(
                model=name, approve_mode=command.approve or defaults.get("approve") or "ask",
                budget_usd=budget, max_iterations=command.max_iterations or defaults.get("max_iterations") or 300,
                reasoning_effort=requested_effort(command.effort, next_session.effort, defaults.get("effort")),
                api_base=command.api_base or (next_session.api_base if name == next_session.model else None),
            )
            try:
                session = self.new_session(name, config)
            except ModelConfigError as exc:
                return Reply(ok=False, message=model_problem(name, exc))
        else:
            for change in prompt_setting_changes(command, session):
                reply = self.send(change)
                if not reply.ok:
                    return reply
        # nbclient and papermill send no cell id: the cell gets one in its output, so a headless writer finds it.
        anchor = command.cell_id or (f"mlintern-{uuid.uuid4().hex[:12]}" if in_cell else None)
        view = self.make_view() if in_cell else None
        if view is not None:
            view.display(anchor)
        note = budget_note(session).strip() if command.budget is not None else ""
        self._submit(command.text, anchor, command.wait, view)
        return Reply(ok=True, message=note)

    def _submit(self, text: str | None, cell_id: str | None, wait: bool,
                view: TurnView | None) -> concurrent.futures.Future[Any]:
        """Submit a prompt (None: a continuation) to the agent thread; with `wait`, block the cell until it ends
        (nobody is asked: approvals end the turn), else return its future at once."""
        assert self.session is not None
        digest = None
        if text is not None:
            self.kernel_context.register_secrets(self.session.redactor)  # before the digest carries the cells
            digest = self.kernel_context.digest()
        future = self.runner.submit(self._drive(text, cell_id, digest, wait, view))
        self.futures = [(f, v) for f, v in self.futures if not f.done()] + [(future, view)]
        if wait:
            self.wait(future)
        return future

    async def _drive(self, text: str | None, cell_id: str | None, digest: str | None, wait: bool,
                     view: TurnView | None) -> ev.TurnEnded | None:
        session = self.session
        assert session is not None
        if self._lock is None:
            self._lock = asyncio.Lock()
        queued = self._lock.locked()
        if queued:
            self._queued += 1
            self._emit_to(view, ev.PromptQueued(text=text or "", position=self._queued))
            if session.approvals.pending() and text is not None:
                # A new prompt while approvals wait supersedes them: end that turn, run_turn marks them superseded.
                session.cancel()
        try:
            async with self._lock:
                if queued:
                    self._queued -= 1
                    queued = False
                self.view = view
                session.config.person_present = not wait
                self._turn_inserts = []
                end = await session.run_turn(text, cell_id=cell_id, kernel_digest=digest)
                self._discard_if_empty(session, end)
                return end
        except asyncio.CancelledError:
            if queued:
                self._queued -= 1
                if view is not None:
                    view.update(ev.TurnEnded(reason="cancelled", message="stopped before it started"))
            raise

    def _emit_to(self, view: TurnView | None, event: ev.Event) -> None:
        assert self.session is not None
        self._route = view
        try:
            self.session.emit(event)
        finally:
            self._route = None

    def wait(self, future: concurrent.futures.Future[Any]) -> ev.TurnEnded | None:
        """Block the cell until the turn ends (--wait); Ctrl-C / the interrupt button cancel it."""
        started = time.monotonic()
        try:
            end = future.result()
        except KeyboardInterrupt:
            self.stop(None)
            try:
                end = future.result(timeout=5)
            except (concurrent.futures.CancelledError, concurrent.futures.TimeoutError):
                end = None
        except concurrent.futures.CancelledError:
            end = None
        self._fallback_insert(started)
        return end

    def _fallback_insert(self, cell_started: float) -> None:
        """The kernel writes a cell only when no panel will: none attached, or none acknowledging what it was sent
        before this cell started. set_next_input lands right below this cell, once (its payload keeps the last)."""
        session = self.session
        if session is None or not self._turn_inserts:
            return
        if self.bridge.connected and not self.bridge.stale(cell_started - ACK_WINDOW_S):
            return
        pending = [e for e in self._turn_inserts if e.call_id not in session.state.placed]
        if pending and self.offer_next_input(pending[-1].source):
            session.record_cell_placed(pending[-1].call_id, by="kernel")

    def offer_next_input(self, source: str) -> bool:
        set_next_input = getattr(self.shell, "set_next_input", None)
        if set_next_input is None:
            return False
        # Honoured by frontends that read set_next_input payloads (delivered with the current execute reply).
        set_next_input(source, replace=False)
        return True

    def stop(self, turn_id: str | None) -> Reply:
        """Stop the running turn and the queued prompts; with a queued turn's id, only that prompt."""
        view = self._views.get(turn_id) if turn_id else None
        running = self.session is not None and self.session.running
        cancelled = 0
        for future, owner in list(self.futures):
            # The running turn is cancelled through the session so it ends with its own TurnEnded event.
            if future.done() or (running and owner is self.view):
                continue
            if view is None or owner is view:
                cancelled += future.cancel()
        stop_running = running and (view is None or view is self.view)
        if stop_running and self.session is not None:
            self.session.cancel()
        if not stop_running and not cancelled:
            return Reply(ok=False, message="Nothing is running.")
        return Reply(ok=True, message="Stopping the running turn." if stop_running else "Stopped the queued prompt.")

    def interrupt(self) -> None:
        """SIGINT while the kernel is idle (the interrupt button): stop the running turn."""
        if self.session is not None and self.session.running:
            self.stop(None)

    def continue_turn(self, nonce: str | None, wait: bool = False) -> None:
        """A turn that ended waiting for a person (or the budget) continues, in the view that asked."""
        view = (self._approval_views.get(nonce) if nonce else None) or self.view
        self._submit(None, None, wait, view)

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        return self.runner.submit(coro).result(timeout=timeout)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.runner.submit(coro)

    def resume(self, session_id: str, *, in_cell: bool, wait: bool = False) -> Reply:
        try:
            # A model chosen with `%intern model` wins over the one named in the log.
            chosen = self.dispatcher.next
            model = checked_model(chosen.model, chosen.api_base) if chosen.model else None
            tools = self.tools()
            session = Session.resume(session_id, tools, home=self.home, model=model,
                                     system_prompt=self.facts.system_prompt(len(tools)))
        except (FileNotFoundError, ModelConfigError) as exc:
            return Reply(ok=False, message=f"Cannot resume {session_id}: {exc}")
        if self.session is not None:
            self._close_session(self.session)
        self._attach(session)
        view = self.make_view()
        for event in session.events:
            view.update(event)
        self.view = view
        for record in session.approvals.pending():
            self._approval_views[record.nonce] = view
        if in_cell:
            view.display(None)
        if session.ready_to_continue():
            # Answers given before the restart continue now, through the same gate; with `wait` (`resume ID
            # --wait`, `mlintern resume`) the cell blocks and nobody is asked, as --wait.
            self.continue_turn(None, wait=wait)
        pending = len(session.approvals.pending())
        return Reply(ok=True, message=f"Resumed {session.name} ({len(session.events)} events, {pending} approval(s) "
                                      "pending).")
