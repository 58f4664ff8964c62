"""NotebookAgent: one notebook's session, its agent thread, the views of its turns, and every way to steer it.

The magics, the comm and the cards all call in here. Turns run on the agent thread's loop one at a time (an
asyncio.Lock keeps them in order: a prompt sent while a turn runs is queued and shown as queued). Events reach
the view of the turn that produced them and the comm.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from pathlib import Path
from typing import Any

from ..agent import events as ev
from ..agent.models import ModelConfigError, resolve_model
from ..agent.session import Session, SessionConfig
from ..agent.trace import write_trace
from ..tools import SlackConfig, ToolsConfig, default_tools, slack_listener
from ..tools.registry import ToolRegistry
from . import records
from .cells import insert_cell_tool
from .comm import CommBridge
from .kernel_context import KernelContext
from .provider_commands import budget_note, requested_effort
from .runner import AgentRunner
from .session_facts import SessionFactsSource
from .sigint import SigintHook
from .view import TurnView


def session_services(session: Session, config: ToolsConfig) -> None:
    """What the engine needs beyond tools: the job price estimator, the trace writer and uploader."""
    services = session.services
    token = config.resolved_hf_token()
    if token and services.cost_estimator is None:
        from huggingface_hub import HfApi

        from ..agent.approval import parse_duration_s
        from ..agent.budget import cost_estimator_for

        api = HfApi(endpoint=config.hf_endpoint, token=token)
        services.cost_estimator = cost_estimator_for(api, parse_duration_s(config.default_job_timeout))
    elif services.cost_estimator is None:
        from ..agent.budget import CostEstimator, HardwarePrices

        # No Hub access: local jobs cost nothing, anything priced on the Hub is unknown (never auto-approved).
        services.cost_estimator = CostEstimator(HardwarePrices(lambda: []))
    if token:
        from ..agent.upload import uploader_for

        uploader_for(session)  # in the trace mode the log records; `%intern traces` changes it
    if config.slack.configured and config.slack.events and services.notifier is None:
        # Opt-in per kind of event (approval needed, errors, turn done) in $MLINTERN_HOME/config.json.
        notifier = slack_listener(config.slack, on_failure=lambda text: session.emit(
            ev.Notice(message=text, level="warning")))
        services.notifier = notifier
        session.subscribe(notifier)


class NotebookAgent:
    def __init__(self, shell: Any, home: Path | None = None) -> None:
        self.shell = shell
        self.home = home
        self.runner = AgentRunner()
        self.kernel_context = KernelContext(shell)
        self.bridge = CommBridge(self)
        self.sigint = SigintHook(self.interrupt)
        self.session: Session | None = None
        self.view: TurnView | None = None
        self.last_end: ev.TurnEnded | None = None
        # (future, view) of every submitted drive; the view tells a queued prompt from the running one.
        self.futures: list[tuple[concurrent.futures.Future[Any], TurnView | None]] = []
        self._lock: asyncio.Lock | None = None
        self._queued = 0
        self._route: TurnView | None = None
        self._approval_views: dict[str, TurnView] = {}
        self._inserted: list[str] = []
        # Tools the user adds for this notebook (registered into every new or resumed session).
        self.extra_tools: list[Any] = []
        self.tools_config = ToolsConfig()
        self._mcp: list[Any] | None = None
        self._mcp_problems: list[str] = []
        self.tools_config.slack = SlackConfig.from_settings(self.tools_config.user_config().get("slack"))
        self.facts = SessionFactsSource(shell, self.kernel_context, self.tools_config)

    # ---- lifecycle ----------------------------------------------------------------------------------

    @property
    def kernel(self) -> Any:
        return getattr(self.shell, "kernel", None)

    def start(self) -> None:
        self.kernel_context.register()
        kernel = self.kernel
        manager = getattr(kernel, "comm_manager", None) if kernel is not None else None
        self.bridge.register(manager)
        self.sigint.install(kernel)

    def close(self) -> None:
        self.stop()
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
        """Raises ModelConfigError when the model cannot be used."""
        model = resolve_model(model_name, config.api_base)
        config.model = model.name
        if self.session is not None:
            self.stop()
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
            self._inserted.append(event.source)
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
        offline = bool(session and getattr(session.model, "offline", False))
        view = TurnView(offline=offline, model=session.model.name if session else "",
                        effort=session.state.reasoning_effort if session else None,
                        on_answer=self.answer, on_edit=self.edit_in_cell, on_job_cancel=self.cancel_job,
                        on_insert=self.insert_below)
        view.stop_button.on_click(lambda _b: self.stop(view))
        return view

    # ---- turns --------------------------------------------------------------------------------------

    def prompt(self, text: str, *, cell_id: str | None, wait: bool, view: TurnView | None) -> concurrent.futures.Future[Any]:
        """Submit a prompt to the agent thread and return its future at once."""
        assert self.session is not None
        self.kernel_context.register_secrets(self.session.redactor)  # before the digest carries the cells
        digest = self.kernel_context.digest()
        future = self.runner.submit(self._drive(text, cell_id, digest, wait, view))
        self.futures = [(f, v) for f, v in self.futures if not f.done()] + [(future, view)]
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
                self._inserted = []
                end = await session.run_turn(text, cell_id=cell_id, kernel_digest=digest)
                self.last_end = end
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
        try:
            end = future.result()
        except KeyboardInterrupt:
            self.stop()
            try:
                end = future.result(timeout=5)
            except (concurrent.futures.CancelledError, concurrent.futures.TimeoutError):
                end = None
        except concurrent.futures.CancelledError:
            end = None
        if self._inserted and not self.bridge.connected:
            # No side panel to insert cells: hand the last script to the frontend as the next input.
            self.shell.set_next_input(self._inserted[-1], replace=False)
        return end

    def stop(self, view: TurnView | None = None) -> None:
        """Stop the running turn and the queued prompts; with a queued turn's view, only that prompt."""
        running = self.session is not None and self.session.running
        for future, owner in list(self.futures):
            # The running turn is cancelled through the session so it ends with its own TurnEnded event.
            if future.done() or (running and owner is self.view):
                continue
            if view is None or owner is view:
                future.cancel()
        if self.session is not None and (view is None or view is self.view):
            self.session.cancel()

    def interrupt(self) -> None:
        """SIGINT while the kernel is idle (the interrupt button): stop the running turn."""
        if self.session is not None and self.session.running:
            self.stop()

    # ---- approvals, cells, jobs ---------------------------------------------------------------------

    def answer(self, nonce: Any, decision: str, feedback: str = "", script: str | None = None,
               for_session: bool = False) -> bool:
        session = self.session
        if session is None:
            return False
        changed = session.answer_approval(nonce, decision, feedback, script, for_session)
        if changed and not session.running and session.ready_to_continue():
            # The turn ended while waiting (under --wait, or before a resume): continue it now.
            view = self._approval_views.get(nonce) if isinstance(nonce, str) else None
            view = view or self.view
            self.futures.append((self.runner.submit(self._drive(None, None, None, False, view)), view))
        return changed

    def edit_in_cell(self, nonce: str, source: str) -> None:
        if self.session is None:
            return
        if self.bridge.connected:
            self.session.emit(ev.CellInsert(call_id=f"edit-{nonce[:8]}", source=source,
                                            anchor_cell_id=self.session.anchor_cell_id))
        else:
            self.insert_below(source)

    def insert_below(self, source: str) -> None:
        # Honoured by frontends that read set_next_input payloads (delivered with the next execute reply).
        self.shell.set_next_input(source, replace=False)

    def cancel_job(self, job_id: str) -> None:
        if self.session is not None:
            self.runner.submit(self.session.cancel_job(job_id))

    # ---- line subcommands ---------------------------------------------------------------------------

    def set_model(self, name: str, api_base: str | None = None) -> str:
        if self.session is None:
            return f"The next %%intern will use {name}."
        try:
            self.session.set_model(name, api_base=api_base)
        except ModelConfigError as exc:
            return f"Cannot use {name}: {exc}" + (f"\n{exc.hint}" if exc.hint else "")
        return f"Model set to {self.session.model.name}" + (" (demo model)" if self.session.model.offline else "")

    def set_budget(self, cap: float) -> str:
        """Change the cap; a turn paused at the old cap continues when the new one leaves room."""
        session = self.session
        assert session is not None
        session.set_budget(cap)
        note = budget_note(session)
        paused = self.last_end is not None and self.last_end.reason == "budget"
        if paused and not session.running and not session.budget.exhausted:
            self.last_end = None
            view = self.view
            self.futures.append((self.runner.submit(self._drive(None, None, None, False, view)), view))
            return f"Budget set to ${cap:.2f}; the paused turn continues.{note}"
        return f"Budget set to ${cap:.2f}.{note}"

    def allow_hf_token_jobs(self, allowed: bool | None) -> str:
        """`%intern allow hf-token-jobs [off]`: let policy approve HF jobs and sandbox Spaces for this session
        (they receive the HF token); with no argument, say what is allowed."""
        session = self.session
        if session is None:
            return "No session yet: start one with %%intern, then allow it (the choice lasts one session)."
        if allowed is not None:
            session.allow_hf_token_jobs(allowed)
        if session.state.hf_token_jobs:
            return ("HF jobs and sandbox Spaces that receive your HF token may be approved by policy in this session "
                    "(--approve auto, within the budget). `%intern allow hf-token-jobs off` takes it back.")
        return ("Each HF job and sandbox Space (they receive your HF token) needs your approval on its card. "
                "`%intern allow hf-token-jobs` lets --approve auto approve them for this session.")

    def status(self) -> str:
        s = self.session
        if s is None:
            return "No session yet: start one with %%intern."
        pending = s.approvals.pending()
        left = s.budget.left()
        lines = [
            f"session {s.name} ({s.id}) · model {s.model.name}" + (" (demo model)" if s.model.offline else "")
            + f" · effort {s.state.reasoning_effort or 'none'}",
            f"state: {'running' if s.running else 'idle'}" + (f", {self._queued} queued" if self._queued else "")
            + (f", last turn ended: {self.last_end.reason}" if self.last_end else ""),
            f"tokens {s.usage.prompt_tokens:,} in / {s.usage.completion_tokens:,} out · cache hits "
            f"{s.usage.cache_hit_share:.0%} · LLM ${s.usage.cost_usd:.4f}"
            + (f" + {s.usage.unpriced_calls} call(s) of unknown cost" if s.usage.unpriced_calls else "")
            + f" · compute ${s.budget.compute_spent_usd:.2f}",
            f"budget: {'no cap' if s.budget.cap_usd is None else f'${s.budget.cap_usd:.2f} cap, ${left:.2f} left'}"
            + (f" · {len(s.budget.unpriced)} approved action(s) of unknown cost running" if s.budget.unpriced else "")
            + (f" · {s.budget.unpriced_settled} ended at unknown cost" if s.budget.unpriced_settled else ""),
            f"approve mode {s.state.approve_mode}" + (" (HF jobs that receive your token allowed)"
                                                      if s.state.hf_token_jobs else "")
            + f" · {len(pending)} approval(s) pending · folder {s.dir}",
        ]
        return "\n".join(lines)

    def compact(self) -> str:
        session = self.session
        compact = getattr(session, "compact", None) if session is not None else None
        if compact is None:
            return "Compaction is not available yet in this version." if session else "No session yet."
        if session is not None and session.running:
            return "A turn is running; compact after it ends (or stop it)."
        result = compact()
        if inspect.isawaitable(result):
            result = self.runner.submit(result).result(timeout=300)  # type: ignore[arg-type]
        return f"Compacted: {result}" if result is not None else "Compacted."

    def list_sessions(self) -> list[dict[str, Any]]:
        live = {self.session.id: self.session} if self.session is not None else None
        return records.list_sessions(self.home, live=live)

    def export(self, path: str) -> str:
        if self.session is None:
            return "No session to export yet."
        return records.export(self.session.dir, path)

    def export_session(self, session_id: str, path: str) -> str:
        """Export any past session of this home (the panel's session list)."""
        if self.session is not None and self.session.id == session_id:
            return self.export(path)
        return records.export_by_id(session_id, path, self.home)

    def resume(self, session_id: str, display_view: bool = True, wait: bool = False) -> str:
        if self.session is not None and self.session.running:
            return "A turn is running: stop it first (%intern stop)."
        try:
            # A model chosen with `%intern model` wins over the one named in the log.
            model = resolve_model(self.chosen_model, self.chosen_api_base) if self.chosen_model else None
            tools = self.tools()
            session = Session.resume(session_id, tools, home=self.home, model=model,
                                     system_prompt=self.facts.system_prompt(len(tools)))
        except (FileNotFoundError, ModelConfigError) as exc:
            return f"Cannot resume {session_id}: {exc}"
        if self.session is not None:
            self._close_session(self.session)
        self._attach(session)
        view = self.make_view()
        for event in session.events:
            view.update(event)
        self.view = view
        for record in session.approvals.pending():
            self._approval_views[record.nonce] = view
        if display_view:
            view.display()
        if session.ready_to_continue():
            # Answers given before the restart: their calls run now, through the same gate. With `wait`
            # (`%intern resume ID --wait`, `mlintern resume`) the cell blocks and no person is asked, as --wait.
            future = self.runner.submit(self._drive(None, None, None, wait, view))
            self.futures.append((future, view))
            if wait:
                self.wait(future)
        pending = len(session.approvals.pending())
        return f"Resumed {session.name} ({len(session.events)} events, {pending} approval(s) pending)."

    # ---- %%intern -----------------------------------------------------------------------------------

    def start_turn(self, prompt: str, *, model: str | None, approve: str | None, budget: float | None,
                   max_iterations: int | None, wait: bool, new: bool, defaults: dict[str, Any],
                   cell_id: str | None, effort: str | None = None, api_base: str | None = None) -> str | None:
        """Start (or continue) the session with this prompt and show its cards. Returns a message on failure."""
        from .model_choice import NO_MODEL_HELP, choose_model

        session = self.session
        if session is None or new:
            name = choose_model(model, self.chosen_model, defaults.get("model") or "")
            if name is None:
                return NO_MODEL_HELP
            config = SessionConfig(
                model=name, approve_mode=approve or defaults.get("approve") or "ask",  # type: ignore[arg-type]
                budget_usd=budget if budget is not None else defaults.get("budget"),
                max_iterations=max_iterations or defaults.get("max_iterations") or 300,
                reasoning_effort=requested_effort(effort, self.chosen_effort, defaults.get("effort")),
                api_base=api_base or (self.chosen_api_base if name == self.chosen_model else None),
            )
            try:
                session = self.new_session(name, config)
            except ModelConfigError as exc:
                return f"Cannot use model {name!r}: {exc}" + (f"\nHint: {exc.hint}" if exc.hint else "")
        else:
            if (model and model != session.model.name) or api_base:
                message = self.set_model(model or session.model.name, api_base)
                if message.startswith("Cannot"):
                    return message
            if effort:
                session.set_effort(requested_effort(effort, None, None))
            if approve and approve != session.state.approve_mode:
                session.set_approve_mode(approve)
            if budget is not None:
                session.set_budget(budget)
            if max_iterations and max_iterations != session.state.max_iterations:
                session.set_max_iterations(max_iterations)
        view = self.make_view()
        view.display()
        if budget is not None and (note := budget_note(session)):
            print(note.strip())
        future = self.prompt(prompt, cell_id=cell_id, wait=wait, view=view)
        if wait:
            self.wait(future)
        return None

    chosen_model: str | None = None
    chosen_api_base: str | None = None
    chosen_effort: str | None = None

    def choose(self, name: str, api_base: str | None = None) -> str:
        """`%intern model NAME [--api-base URL]`: the model for this session from now on (or for the next one)."""
        self.chosen_model, self.chosen_api_base = name, api_base
        return self.set_model(name, api_base)

    def approve_cell(self, nonce: str, script: str) -> str:
        """`%%intern approve NONCE` + the edited script: approve exactly what the cell holds."""
        session = self.session
        record = session.approvals.records.get(nonce) if session is not None else None
        if record is None:
            return f"No approval {nonce!r} in this session."
        if record.decision is not None:
            return f"That approval is already {record.decision}."
        if record.spec.script is not None and not record.spec.script.endswith("\n"):
            script = script.removesuffix("\n")  # the cell's own trailing newline is not part of the edit
        changed = self.answer(nonce, "approve", "", script if record.spec.script is not None else None)
        return "Approved the script in this cell; the agent continues." if changed else "The approval did not change."
