"""`mlintern run` and `mlintern resume`: a real kernel runs a notebook whose last cell is `%%intern --wait`.

The kernel is started through jupyter_client and the notebook executed cell by cell by nbclient, so the
extension, the agent thread, the cards and the kernel context are exactly those of a notebook in JupyterLab.
The terminal follows the session's log (follow.py). Ctrl+C interrupts the kernel, which stops the turn as the
Stop button does (open calls get aborted results, the log stays valid); a second Ctrl+C kills the kernel.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from ..agent import events as ev
from ..agent.store import read_events, sessions_dir
from ..control.notebook_cells import anchored_inserts, place_cells_below
from ..control.readable_records import static_records
from . import actions
from .follow import SessionFollower
from .notebooks import BadInput, write_notebook
from .render import Renderer

# How the last turn ended -> exit code (documented in the README's headless section).
EXIT_CODES = {"done": 0, "error": 1, "budget": 2, "max_iterations": 2, "awaiting_approval": 3, "cancelled": 130}
EXIT_BAD_INPUT = 64
EXIT_KERNEL_DIED = 70
EXIT_INTERRUPTED = 130
POLL_S = 0.1


@dataclass
class RunPlan:
    notebook: NotebookNode
    cell_index: int
    out: Path | None
    export: Path | None
    cwd: Path
    kernel_name: str = "python3"
    session_id: str | None = None  # known for a resume; found through the cell id for a run
    as_json: bool = False
    home: Path | None = None


@dataclass
class RunResult:
    code: int
    session_id: str | None = None
    reason: str | None = None
    messages: list[str] = field(default_factory=list)


class HeadlessRun:
    def __init__(self, plan: RunPlan, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.plan = plan
        self.err = err or sys.stderr
        self.renderer = Renderer(out or sys.stdout, as_json=plan.as_json)
        cell = plan.notebook.cells[plan.cell_index]
        self.follower = SessionFollower(plan.home, session_id=plan.session_id,
                                        cell_id=None if plan.session_id else cell.id)
        self.events: list[ev.Event] = []
        self.interrupts = 0
        self.client: NotebookClient | None = None
        self.timings: dict[str, float] = {}

    # ---- the run ------------------------------------------------------------------------------------

    async def run(self) -> RunResult:
        plan = self.plan
        # IPC sockets in a private folder, not TCP on loopback: no port another local user could connect to. The
        # path is absolute: jupyter_client's default is relative, and the kernel runs in the notebook's folder.
        sockets = tempfile.mkdtemp(prefix="mlintern-kernel-")
        km = AsyncKernelManager(kernel_name=plan.kernel_name, transport="ipc", ip=os.path.join(sockets, "kernel"))
        self.client = client = NotebookClient(
            plan.notebook, km=km, timeout=None, kernel_name=plan.kernel_name, allow_errors=True,
            store_widget_state=True, resources={"metadata": {"path": str(plan.cwd)}})
        follow = asyncio.ensure_future(self._follow())
        died = False
        started = time.monotonic()
        try:
            async with client.async_setup_kernel(cleanup_kc=True):
                self.timings["kernel_start_s"] = time.monotonic() - started
                self._install_sigint()
                await self._execute_cells(client)
        except (DeadKernelError, asyncio.CancelledError):  # cancelled: nbclient's own handler, before ours
            died = True
        finally:
            self.timings["run_s"] = time.monotonic() - started
            shutil.rmtree(sockets, ignore_errors=True)
            follow.cancel()
            await asyncio.gather(follow, return_exceptions=True)
            self._drain()
        return self._finish(died)

    async def _execute_cells(self, client: NotebookClient) -> None:
        for index, cell in enumerate(self.plan.notebook.cells):
            if cell.cell_type != "code":
                continue
            if index == self.plan.cell_index:
                _send_cell_id(client, cell.id)
            try:
                await client.async_execute_cell(cell, index)
            finally:
                _send_cell_id(client, None)

    async def _follow(self) -> None:
        while True:
            self._drain()
            await asyncio.sleep(POLL_S)

    def _drain(self) -> None:
        for event in self.follower.poll():
            self.events.append(event)
            self.renderer.show(event)

    # ---- Ctrl+C -------------------------------------------------------------------------------------

    def _install_sigint(self) -> None:
        # Replaces nbclient's handler (which would shut the kernel down at once): the first press stops the turn.
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._on_sigint)
        except (RuntimeError, NotImplementedError, ValueError):
            pass

    def _on_sigint(self) -> None:
        self.interrupts += 1
        km: Any = self.client.km if self.client is not None else None
        if km is None:
            return
        if self.interrupts == 1:
            self.say("stopping the turn (open calls are aborted); press Ctrl+C again to kill the kernel")
            asyncio.ensure_future(km.interrupt_kernel())
        else:
            self.say("killing the kernel")
            asyncio.ensure_future(km.shutdown_kernel(now=True))

    # ---- the end ------------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.err.write(f"mlintern: {text}\n")
        self.err.flush()

    def _finish(self, died: bool) -> RunResult:
        session_id = self.follower.session_id
        ends = [e for e in self.events if isinstance(e, ev.TurnEnded)]
        if died:
            return self._after_death(session_id)
        if session_id is None:
            return RunResult(EXIT_BAD_INPUT, None, messages=[self._cell_problem() or "the turn did not start"])
        log = read_events(sessions_dir(self.plan.home) / session_id / "events.jsonl").events
        if not ends and self.plan.session_id is not None:
            # A resume with nothing answered to continue: report how the last turn ended, as it still stands.
            ends = [e for e in log if isinstance(e, ev.TurnEnded)]
            if not ends:
                return RunResult(1, session_id, messages=["the session has no turn to continue"])
            self.say(f"nothing to continue: the last turn ended {ends[-1].reason}")
        if not ends:
            return RunResult(1, session_id, messages=[self._cell_problem() or "the turn did not end"])
        reason = ends[-1].reason
        result = RunResult(EXIT_CODES.get(reason, 1), session_id, reason)
        self._write_outputs(session_id, result)
        if reason == "awaiting_approval":
            result.messages += self.approval_commands(session_id)
        return result

    def _after_death(self, session_id: str | None) -> RunResult:
        code = EXIT_INTERRUPTED if self.interrupts >= 2 else EXIT_KERNEL_DIED
        what = "the kernel was killed" if code == EXIT_INTERRUPTED else "the kernel died during the run"
        if session_id is None:
            return RunResult(code, None, messages=[f"{what} before the session started; nothing was written"])
        result = RunResult(code, session_id)
        if self.plan.export is not None:
            try:  # the log is whole up to the death: its export is complete, written atomically
                actions.export(session_id, str(self.plan.export), self.plan.home)
            except Exception as exc:  # noqa: BLE001 - the death is the message that matters
                result.messages.append(f"the export was not written: {type(exc).__name__}")
        name = self._name(session_id)
        result.messages.insert(0, f"{what} (session {name}); its log is intact: mlintern resume {name}")
        return result

    def _write_outputs(self, session_id: str, result: RunResult) -> None:
        plan = self.plan
        if plan.out is not None:
            if plan.session_id is None:  # a run: every cell its prompt's turns inserted, anchored at its cell
                anchor: str | None = plan.notebook.cells[plan.cell_index].id
                events = read_events(sessions_dir(plan.home) / session_id / "events.jsonl").events
            else:  # a resume: the cells inserted while it ran (their anchor is a cell of the first run)
                anchor, events = None, self.events
            place_cells_below(plan.notebook, plan.cell_index, session_id, anchored_inserts(events, anchor))
            static_records(plan.notebook)  # readers of the output (nbconvert, GitHub) see the record, not a blank view
            write_notebook(plan.notebook, plan.out)
        if plan.export is not None:
            try:
                actions.export(session_id, str(plan.export), plan.home)
            except BadInput as exc:  # the run itself finished: say why its export is missing
                result.messages.append(f"the export was not written: {exc}")

    def _name(self, session_id: str) -> str:
        started = next((e for e in self.events if isinstance(e, ev.SessionStarted)), None)
        if started is None:
            log = read_events(sessions_dir(self.plan.home) / session_id / "events.jsonl").events
            started = next((e for e in log if isinstance(e, ev.SessionStarted)), None)
        return (started.name if started is not None and started.name else session_id)

    def approval_commands(self, session_id: str) -> list[str]:
        """The commands that answer each approval still pending, then the one that continues."""
        from ..agent.core import fold_log

        state = fold_log(read_events(sessions_dir(self.plan.home) / session_id / "events.jsonl"), "").state
        name = self._name(session_id)
        lines = []
        for record in state.approvals.pending():
            # Logs written before nonces avoided a leading '-' need `--` so argparse reads it as the nonce.
            word = f"-- {record.nonce}" if record.nonce.startswith("-") else record.nonce
            lines.append(f"waiting for approval of {record.spec.tool} (call {record.call_id}):")
            lines.append(f"  mlintern approve {name} {word}")
            lines.append(f"  mlintern approve {name} --deny --feedback 'why' {word}")
        lines.append(f"then continue with: mlintern resume {name}")
        return lines

    def _cell_problem(self) -> str | None:
        """What the `%%intern` cell said when no turn ran (an unusable model, an error)."""
        cell = self.plan.notebook.cells[self.plan.cell_index]
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"{output.get('ename')}: {output.get('evalue')}"
            if output.get("output_type") == "stream" and output.get("text", "").strip():
                return " ".join(output["text"].split())[:300]
        return None


def _send_cell_id(client: NotebookClient, cell_id: str | None) -> None:
    """Send the next execute request with `metadata.cellId`, as JupyterLab does (nbclient sends none): the
    prompt event records it, which is how the follower finds the session and the anchor of inserted cells."""
    kc: Any = client.kc
    if kc is None:
        return
    if cell_id is None:
        kc.__dict__.pop("execute", None)
        return
    def execute(code: str, silent: bool = False, store_history: bool = True, user_expressions: Any = None,
                allow_stdin: bool | None = None, stop_on_error: bool = True) -> str:
        content = {"code": code, "silent": silent, "store_history": store_history,
                   "user_expressions": user_expressions or {}, "allow_stdin": bool(allow_stdin),
                   "stop_on_error": stop_on_error}
        msg = kc.session.msg("execute_request", content)
        msg["metadata"]["cellId"] = cell_id
        kc.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    kc.execute = execute


def run_plan(plan: RunPlan, out: TextIO | None = None, err: TextIO | None = None) -> RunResult:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    for path in (plan.out, plan.export):
        if path is not None and not path.parent.is_dir():
            raise BadInput(f"no folder {path.parent} to write {path.name} into")
    try:
        KernelSpecManager().get_kernel_spec(plan.kernel_name)
    except NoSuchKernel:
        raise BadInput(f"no kernel named {plan.kernel_name!r} (see: jupyter kernelspec list)") from None
    run = HeadlessRun(plan, out, err)
    return asyncio.run(run.run())
