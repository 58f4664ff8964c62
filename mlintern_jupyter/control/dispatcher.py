"""The one dispatcher: every command from every UI (magics, comm, cards, a console script) lands here.

State changes go only through the session's typed methods (`set_budget`, `answer_approval`, `cancel_job`, ...),
each of which records its event before it takes effect. What only a host can do (start a turn and show its
cards, stop a turn, resume into a notebook, run a coroutine on the agent's loop, hand a cell to the frontend) is
behind the small `Host` protocol, which the notebook (`jupyter/controller.py`) and the kernel-less host
(`headless.py`) implement. Every reply is one line for a person: no traceback reaches a cell or the panel.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

from ..agent.models import Model, ModelConfigError, resolve_model
from . import commands as c
from .model_choice import suggestions_text
from .settings import NextSession, budget_note, effort_note, requested_effort, status_text

Reply = c.Reply


class Host(Protocol):
    """What a dispatcher needs from the place the session lives (a notebook kernel, a console script)."""

    home: Path | None

    @property
    def session(self) -> Any: ...

    def start_prompt(self, command: c.Prompt, next_session: NextSession, *, in_cell: bool) -> Reply: ...

    def stop(self, turn_id: str | None) -> Reply: ...

    def resume(self, session_id: str, *, in_cell: bool, wait: bool = False) -> Reply: ...

    def continue_turn(self, nonce: str | None) -> None: ...

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any: ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None: ...

    def offer_next_input(self, source: str) -> bool: ...

    @property
    def queued(self) -> int: ...


def checked_model(name: str, api_base: str | None = None) -> Model:
    """The model, checked now (credentials, a provider litellm knows) rather than at the next turn's first call."""
    model = resolve_model(name, api_base)
    check = getattr(model, "check", None)
    if callable(check):
        check()
    return model


def prompt_setting_changes(command: c.Prompt, session: Any) -> list[Any]:
    """The commands a `%%intern` prompt's options stand for on an existing session (--model, --budget, ...)."""
    state = session.state
    changes: list[Any] = []
    if (command.model and command.model != session.model.name) or command.api_base:
        changes.append(c.SetModel(model=command.model or session.model.name, api_base=command.api_base))
    if command.effort:
        changes.append(c.SetEffort(effort=command.effort))
    if command.approve and command.approve != state.approve_mode:
        changes.append(c.SetApproveMode(mode=command.approve))
    if command.budget is not None:
        changes.append(c.SetBudget(usd=command.budget))
    if command.max_iterations and command.max_iterations != state.max_iterations:
        changes.append(c.SetMaxIterations(max_iterations=command.max_iterations))
    return changes


def model_problem(name: str, exc: ModelConfigError) -> str:
    return f"Cannot use {name}: {exc}" + (f" — {exc.hint}" if exc.hint else "")


def _records() -> Any:
    """Export and upload pull in nbformat and the Hub client: loaded at first use, not at %load_ext."""
    from . import records

    return records


def _ok(message: str, **data: Any) -> Reply:
    return Reply(ok=True, message=message, data=data or None)


def _no(message: str) -> Reply:
    return Reply(ok=False, message=message)


NO_SESSION = "No session yet: start one with %%intern."


class Dispatcher:
    def __init__(self, host: Host, next_session: NextSession | None = None) -> None:
        self.host = host
        self.next = next_session or NextSession()
        # Called with every command after it ran (benchmarks, the comm's own bookkeeping); never with bad input.
        self.observers: list[Callable[[Any, Reply], None]] = []

    @property
    def session(self) -> Any:
        return self.host.session

    def dispatch(self, command: Any, *, in_cell: bool = False) -> Reply:
        """Run one command (a model or its JSON form). Bad input and failures come back as a one-line reply."""
        try:
            if isinstance(command, dict):
                command = c.parse_command(command)
            handler = getattr(self, f"_{command.type}")
            reply: Reply = handler(command, in_cell) if command.type in ("prompt", "resume") else handler(command)
        except c.CommandError as exc:
            return _no(str(exc))
        except ModelConfigError as exc:
            return _no(model_problem(getattr(command, "model", "") or "", exc))
        except (ValueError, OSError) as exc:
            return _no(str(exc) or type(exc).__name__)
        for observer in list(self.observers):
            observer(command, reply)
        return reply

    __call__ = dispatch

    # ---- turns ----------------------------------------------------------------------------------------

    def _hello(self, command: c.Hello) -> Reply:
        session = self.session
        events = [e.to_dict() for e in session.events] if session is not None else []
        return _ok("", events=events, session_id=session.id if session is not None else None)

    def _prompt(self, command: c.Prompt, in_cell: bool) -> Reply:
        return self.host.start_prompt(command, self.next, in_cell=in_cell)

    def _stop(self, command: c.Stop) -> Reply:
        return self.host.stop(command.turn_id)

    def _compact(self, command: c.Compact) -> Reply:
        session = self.session
        if session is None:
            return _no(NO_SESSION)
        if session.running:
            return _no("A turn is running; compact after it ends (or stop it).")
        return _ok(f"Compacted: {self.host.run(session.compact(), 300)}")

    # ---- approvals ------------------------------------------------------------------------------------

    def _answer(self, nonce: str, decision: str, feedback: str = "", script: str | None = None,
                for_session: bool = False) -> Reply:
        session = self.session
        record = session.approvals.records.get(nonce) if session is not None else None
        if record is None:
            return _no(f"No approval {nonce!r} in this session.")
        if record.decision is not None:
            return _no(f"That approval is already {record.decision}.")
        if not session.answer_approval(nonce, decision, feedback, script, for_session):
            return _no("That approval is no longer pending.")
        if not session.running and session.ready_to_continue():
            # The turn ended while waiting (under --wait, or before a resume): it continues now.
            self.host.continue_turn(nonce)
        verb = "Denied" if decision == "deny" else "Approved"
        return _ok(f"{verb}." + (" The agent continues." if decision == "approve" else ""), nonce=nonce)

    def _approve(self, command: c.Approve) -> Reply:
        script = command.script
        if script is not None:
            session = self.session
            record = session.approvals.records.get(command.nonce) if session is not None else None
            if record is not None and record.spec.script is None:
                script = None  # nothing to edit in this action: approve it as shown
            elif record is not None and not (record.spec.script or "").endswith("\n"):
                script = script.removesuffix("\n")  # the cell's own trailing newline is not part of the edit
        reply = self._answer(command.nonce, "approve", command.feedback, script)
        if reply.ok and command.script is not None:
            return _ok("Approved the script in this cell; the agent continues.", nonce=command.nonce)
        return reply

    def _deny(self, command: c.Deny) -> Reply:
        return self._answer(command.nonce, "deny", command.feedback)

    def _approve_for_session(self, command: c.ApproveForSession) -> Reply:
        from ..agent.allow_list import session_shape

        session = self.session
        record = session.approvals.records.get(command.nonce) if session is not None else None
        if record is not None and session_shape(record.spec) is None:
            return _no("Only a plain read-only command (ls, wc, nvidia-smi, ...) can be approved for the rest of the "
                       "session; approve this one once.")
        return self._answer(command.nonce, "approve", for_session=True)

    def _edit_in_cell(self, command: c.EditInCell) -> Reply:
        session = self.session
        record = session.approvals.records.get(command.nonce) if session is not None else None
        if record is None or record.decision is not None:
            return _no(f"No pending approval {command.nonce!r} in this session.")
        if record.spec.script is None:
            return _no("This action has no script to edit.")
        source = c.edit_cell_source(command.nonce, record.spec.script)
        session.insert_cell(f"edit-{command.nonce[:8]}", source)
        return _ok("The script is in a new cell below: edit it and run that cell to approve what it holds.",
                   source=source)

    # ---- settings -------------------------------------------------------------------------------------

    def _set_approve_mode(self, command: c.SetApproveMode) -> Reply:
        if self.session is None:
            return _no(f"{NO_SESSION} (--approve {command.mode} sets it for the first prompt)")
        self.session.set_approve_mode(command.mode)
        return _ok(f"Approve mode: {command.mode}.")

    def _set_budget(self, command: c.SetBudget) -> Reply:
        session = self.session
        cap = command.usd
        shown = "no cap" if cap is None else f"${cap:.2f}"
        if session is None:
            self.next.budget = cap
            return _ok(f"The next session's budget is {shown}.")
        session.set_budget(cap)
        note = budget_note(session)
        last = next((e for e in reversed(session.events) if e.kind == "turn_ended"), None)
        if last is not None and last.reason == "budget" and not session.running and not session.budget.exhausted:
            self.host.continue_turn(None)
            return _ok(f"Budget set to {shown}; the paused turn continues.{note}")
        return _ok(f"Budget set to {shown}.{note}")

    def _set_model(self, command: c.SetModel) -> Reply:
        model = checked_model(command.model, command.api_base)  # ModelConfigError: nothing recorded
        self.next.model, self.next.api_base = command.model, command.api_base
        session = self.session
        if session is None:
            return _ok(f"The next %%intern will use {model.name}.")
        session.set_model(command.model, model=model, api_base=command.api_base)
        return _ok(f"Model set to {model.name}" + (" (demo model)" if model.offline else ""))

    def _set_effort(self, command: c.SetEffort) -> Reply:
        self.next.effort = command.effort
        session = self.session
        if session is None:
            return _ok(f"The next session uses reasoning effort {command.effort}.")
        session.set_effort(None if command.effort == "none" else command.effort)
        return _ok(f"Reasoning effort set to {command.effort}{effort_note(session)}")

    def _set_price(self, command: c.SetPrice) -> Reply:
        session = self.session
        if session is None:
            return _no("No session yet: start one with %%intern, then give the price of its model.")
        session.set_price(command.input_per_mtok, command.output_per_mtok)
        return _ok(f"{session.model.name} priced at ${command.input_per_mtok:g} in / ${command.output_per_mtok:g} "
                   "out per million tokens; its calls from now on count against the budget.")

    def _set_max_iterations(self, command: c.SetMaxIterations) -> Reply:
        if self.session is None:
            return _no(NO_SESSION)
        self.session.set_max_iterations(command.max_iterations)
        return _ok(f"At most {command.max_iterations} model calls per prompt.")

    def _set_traces(self, command: c.SetTraces) -> Reply:
        if self.session is None:
            return _no(NO_SESSION)
        return _ok(_records().traces(self.session, command.mode))

    def _allow_hf_token_jobs(self, command: c.AllowHfTokenJobs) -> Reply:
        session = self.session
        if session is None:
            return _no("No session yet: start one with %%intern, then allow it (the choice lasts one session).")
        if command.allowed is not None:
            session.allow_hf_token_jobs(command.allowed)
        if session.state.hf_token_jobs:
            return _ok("HF jobs and sandbox Spaces that receive your HF token may be approved by policy in this "
                       "session (--approve auto, within the budget). `%intern allow hf-token-jobs off` takes it back.")
        return _ok("Each HF job and sandbox Space (they receive your HF token) needs your approval on its card. "
                   "`%intern allow hf-token-jobs` lets --approve auto approve them for this session.")

    def _show(self, command: c.Show) -> Reply:
        session = self.session
        match command.what:
            case "model":
                current = session.model.name if session is not None else self.next.model or "(none yet)"
                return _ok(f"Current model: {current}\n\n{suggestions_text()}")
            case "effort":
                if session is None:
                    level = requested_effort(None, self.next.effort, None) or "none"
                    return _ok(f"Reasoning effort for the next session: {level} (low | medium | high | max | none).")
                return _ok(f"Reasoning effort: {session.state.reasoning_effort or 'none'}" + effort_note(session))
            case "traces":
                return _ok(_records().traces(session, None)) if session is not None else _no(NO_SESSION)
        return _ok(status_text(session, queued=self.host.queued)) if session is not None else _no(NO_SESSION)

    # ---- jobs, cells ----------------------------------------------------------------------------------

    def _cancel_job(self, command: c.CancelJob) -> Reply:
        session = self.session
        if session is None:
            return _no(NO_SESSION)
        # Off the caller's thread: the Hub call (or the local process group's exit) must not block a click.
        self.host.spawn(session.cancel_job(command.job_id))
        return _ok(f"Cancelling job {command.job_id}…", job_id=command.job_id)

    def _cell_ack(self, command: c.CellAck) -> Reply:
        session = self.session
        if session is None or command.session_id != session.id:
            return _no("That cell belongs to another session.")
        session.record_cell_placed(command.call_id, by="panel", how=command.result)
        return _ok("")

    def _insert_cell(self, command: c.InsertCell) -> Reply:
        session = self.session
        insert = session.cell_insert(command.call_id) if session is not None and session.id == command.session_id \
            else None
        if insert is None:
            return _no("No such cell in this session.")
        if command.call_id in session.state.placed:
            # One writer per insertion: a second copy would only duplicate it.
            return _no(f"That cell is already in the notebook (written by the {session.state.placed[command.call_id]}).")
        if not self.host.offer_next_input(insert.source):
            return _no("This frontend cannot take a new cell from the kernel: copy the text from the card.")
        session.record_cell_placed(command.call_id, by="kernel", how="inserted")
        return _ok("The cell arrives below the next cell you run (or copy it from the card).")

    # ---- records --------------------------------------------------------------------------------------

    def _sessions(self, command: c.Sessions) -> Reply:
        live = {self.session.id: self.session} if self.session is not None else None
        rows = _records().list_sessions(self.host.home, limit=command.limit, live=live)
        return _ok(_records().sessions_text(rows), sessions=rows)

    def _resume(self, command: c.Resume, in_cell: bool) -> Reply:
        session = self.session
        if session is not None and session.running:
            return _no("A turn is running: stop it first (%intern stop).")
        return self.host.resume(command.session_id, in_cell=in_cell, wait=command.wait)

    def _export(self, command: c.Export) -> Reply:
        session = self.session
        if command.session_id is None or (session is not None and session.id == command.session_id):
            if session is None:
                return _no("No session to export yet.")
            source: Any = session
        else:
            source = _records().session_folder(command.session_id, self.host.home)
            if source is None:
                return _no(f"No session {command.session_id!r}.")
        message = _records().export(source, command.path, make_dirs=command.make_dirs)
        return Reply(ok=message.startswith("Exported"), message=message)

    def _upload(self, command: c.Upload) -> Reply:
        session = self.session
        if session is None or (command.session_id is not None and command.session_id != session.id):
            return _no(NO_SESSION if session is None else "Upload the session open in this notebook, or resume "
                       "the other one first.")
        message = _records().upload(session)
        return Reply(ok=message.startswith("Uploaded"), message=message)
