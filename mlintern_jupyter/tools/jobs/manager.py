"""JobManager: the session's jobs (HF or local), their watchers, and re-attachment after a restart.

Kept in the session's `services.jobs`. A launch returns a JobHandle at once; a watcher task streams the log as
ToolOutput events (job_id set), reports status changes as JobUpdated events, enforces the hard timeout and
settles the budget when the job ends: its runtime at the hourly price the estimate used (`price_per_hour`, from
the session's estimator), or, when that price is unknown, the reserved worst case (the ledger charges it). Every job is tagged with the session and call id
(HF labels, local record files), so `find_existing` finds it again instead of launching a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from pathlib import Path
from typing import Any

from ...agent import events as ev
from ...agent.tooling import ComputeLedger
from ..registry import ToolError
from . import hf
from .handle import JobHandle
from .hardware import hardware_rows
from .local import LocalProcess, read_records, tail_file, write_record
from .logs import LogSink
from .trackio_link import dashboard_url, trackio_points

SESSION_LABEL = "mlintern-session"
CALL_LABEL = "mlintern-call"
STATUS_POLL_S = 2.0


class JobManager:
    def __init__(self, *, jobs_dir: Path, emit: Any = None, ledger: ComputeLedger | None = None, endpoint: str = "",
                 token: str | None = None) -> None:
        self.jobs_dir = jobs_dir
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.emit = emit or (lambda event: None)
        # Settles a job's compute reservation with its real cost when it ends (recorded as an event).
        self.ledger = ledger
        self.endpoint = endpoint
        self.token = token
        self.handles: dict[str, JobHandle] = {}
        self._whoami: dict[str, dict[str, Any]] = {}
        self._hardware: list[dict[str, Any]] | None = None
        self._api: Any = None

    # ---- Hub plumbing -------------------------------------------------------------------------------

    @property
    def api(self) -> Any:
        if self._api is None:
            self._api = hf.make_api(self.endpoint, self.token)
        return self._api

    async def whoami(self) -> dict[str, Any]:
        """One whoami per token, cached (jobs would otherwise call it before every request)."""
        if not self.token:
            raise ToolError("no HF token: set HF_TOKEN to use HF Jobs, or use runtime='local'")
        key = hashlib.sha256(self.token.encode()).hexdigest()
        if key not in self._whoami:
            self._whoami[key] = await hf.call(self.api.whoami, what="the Hub (whoami)")
        return self._whoami[key]

    async def namespace(self, requested: str | None) -> str:
        me = await self.whoami()
        allowed = [me["name"], *[o["name"] for o in me.get("orgs", [])]]
        if not requested:
            return me["name"]
        if requested not in allowed:
            raise ToolError(f"namespace {requested!r} is not yours: use one of {', '.join(allowed)}")
        return requested

    async def hardware(self) -> list[dict[str, Any]]:
        if self._hardware is None:
            live = None
            if self.endpoint:
                with contextlib.suppress(ToolError):
                    live = await hf.call(self.api.list_jobs_hardware, what="the Hub (hardware)")
            rows = hardware_rows(live)
            if live:
                self._hardware = rows
            return rows
        return self._hardware

    # ---- events --------------------------------------------------------------------------------------

    def _update(self, handle: JobHandle, message: str = "") -> None:
        self.emit(ev.JobUpdated(call_id=handle.call_id, job_id=handle.job_id, status=handle.status,
                                runtime=handle.runtime, hardware=handle.hardware, url=handle.url,
                                cost_usd=handle.cost_usd, message=message or handle.message,
                                trackio_project=handle.trackio_project, dashboard_url=handle.dashboard_url))

    def _sink(self, handle: JobHandle, *, write_file: bool) -> LogSink:
        assert handle.log_path is not None

        def emit_chunk(text: str) -> None:
            self.emit(ev.ToolOutput(call_id=handle.call_id, text=text, job_id=handle.job_id))

        def emit_metrics(points: list[dict[str, float]]) -> None:
            self.emit(ev.JobMetrics(call_id=handle.call_id, job_id=handle.job_id, points=points))

        return LogSink(handle.log_path, emit_chunk, write_file=write_file, emit_metrics=emit_metrics)

    def _finish(self, handle: JobHandle, status: str, message: str = "") -> None:
        handle.status = status
        handle.finished_at = handle.finished_at or time.time()
        handle.message = message or handle.message
        if handle.sink is not None:
            handle.sink.close()
        if self.ledger is not None:
            self.ledger.settle_compute(handle.call_id, handle.job_id, handle.cost_usd)
        self._save(handle)
        self._update(handle)

    def _save(self, handle: JobHandle) -> None:
        record = {k: v for k, v in handle.summary().items()}
        record.update(call_id=handle.call_id, session_id=handle.session_id, namespace=handle.namespace,
                      log_path=str(handle.log_path), started_at=handle.started_at, finished_at=handle.finished_at,
                      pid=handle.process.pid if handle.process else None, price_per_hour=handle.price_per_hour)
        write_record(self.jobs_dir / f"{handle.job_id}.json", record)

    # ---- re-attachment -------------------------------------------------------------------------------

    async def find_existing(self, session_id: str, call_id: str) -> JobHandle | None:
        """The job an earlier run of this call launched (this process, a record on disk, or HF labels)."""
        for handle in self.handles.values():
            if handle.session_id == session_id and handle.call_id == call_id:
                return handle
        for record in read_records(self.jobs_dir):
            if record.get("session_id") == session_id and record.get("call_id") == call_id:
                return await self._reattach_record(record)
        if self.token:
            namespace = (await self.whoami())["name"]
            jobs = await hf.call(self.api.list_jobs, labels={SESSION_LABEL: session_id, CALL_LABEL: call_id},
                                 namespace=namespace, what="the Hub (list jobs)")
            jobs = list(jobs)
            if jobs:
                return self._attach_hf(jobs[-1], call_id, session_id, reattached=True)
        return None

    async def _reattach_record(self, record: dict[str, Any]) -> JobHandle:
        handle = JobHandle(job_id=record["job_id"], call_id=record["call_id"], session_id=record["session_id"],
                           runtime=record["runtime"], status=record.get("status", "RUNNING"),
                           hardware=record.get("hardware", ""), namespace=record.get("namespace", ""),
                           url=record.get("url", ""), log_path=Path(record["log_path"]),
                           timeout_s=record.get("timeout_s", 1800), started_at=record.get("started_at", time.time()),
                           finished_at=record.get("finished_at"), exit_code=record.get("exit_code"),
                           message=record.get("message", ""), reattached=True,
                           price_per_hour=record.get("price_per_hour", 0.0 if record["runtime"] == "local" else None))
        self.handles[handle.job_id] = handle
        log_path = Path(record["log_path"])
        if handle.runtime == "local" and not handle.done and record.get("pid"):
            handle.process = LocalProcess(record["pid"], log_path, log_path.with_suffix(".exit"))
            self._start_local_watch(handle)
        elif handle.runtime == "hf" and not handle.done and self.token:
            info = await hf.call(self.api.inspect_job, job_id=handle.job_id, namespace=handle.namespace)
            self.handles.pop(handle.job_id)
            return self._attach_hf(info, handle.call_id, handle.session_id, reattached=True,
                                   price_per_hour=handle.price_per_hour)
        return handle

    # ---- local runtime -------------------------------------------------------------------------------

    async def launch_local(self, *, call_id: str, session_id: str, argv: list[str], cwd: Path, env: dict[str, str],
                           timeout_s: int) -> JobHandle:
        job_id = f"local-{secrets.token_hex(4)}"
        log_path = self.jobs_dir / f"{job_id}.log"
        env = {**env, "PYTHONUNBUFFERED": "1", "MLINTERN_SESSION_ID": session_id, "MLINTERN_CALL_ID": call_id}
        try:
            process = await LocalProcess.start(argv, cwd=cwd, env=env, log_path=log_path)
        except OSError as exc:
            raise ToolError(f"could not start the local job: {exc}") from None
        handle = JobHandle(job_id=job_id, call_id=call_id, session_id=session_id, runtime="local", status="RUNNING",
                           hardware="local", log_path=log_path, timeout_s=timeout_s, process=process,
                           trackio_project=env.get("TRACKIO_PROJECT", ""), trackio_dir=env.get("TRACKIO_DIR", ""))
        self.handles[job_id] = handle
        self._save(handle)
        self._update(handle)
        self._start_local_watch(handle)
        return handle

    def _start_local_watch(self, handle: JobHandle) -> None:
        handle.sink = self._sink(handle, write_file=False)
        handle.task = asyncio.get_running_loop().create_task(self._watch_local(handle))

    async def _watch_local(self, handle: JobHandle) -> None:
        process = handle.process
        assert process is not None and handle.sink is not None
        exited = asyncio.Event()

        async def wait_exit() -> None:
            await process.wait()
            exited.set()

        waiter = asyncio.ensure_future(wait_exit())
        tailer = asyncio.ensure_future(tail_file(process.log_path, handle.sink.feed, exited.is_set))
        deadline = handle.started_at + handle.timeout_s
        status = ""
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(waiter), timeout=max(0.0, deadline - time.time()))
            if not exited.is_set():
                status = "TIMEOUT"
                handle.message = f"stopped at the hard timeout of {handle.timeout_s}s"
                await process.terminate()
                await waiter
            await tailer
        except asyncio.CancelledError:
            # Watching stopped (session closing): the job keeps running and a resumed session re-attaches.
            for task in (waiter, tailer):
                task.cancel()
            handle.sink.close()
            raise
        handle.exit_code = process.exit_code()
        if handle.status == "CANCELED":
            status = "CANCELED"
        elif not status:
            status = "COMPLETED" if handle.exit_code == 0 else "ERROR"
            if handle.exit_code not in (0, None):
                handle.message = f"exit code {handle.exit_code}"
        if handle.trackio_project and handle.trackio_dir:
            with contextlib.suppress(Exception):  # the log parser's numbers stay when trackio's store cannot be read
                points = await asyncio.to_thread(trackio_points, handle.trackio_project, handle.started_at,
                                                 handle.trackio_dir)
                if points:
                    self.emit(ev.JobMetrics(call_id=handle.call_id, job_id=handle.job_id, points=points,
                                            source="trackio"))
        self._finish(handle, status)

    # ---- HF runtime ----------------------------------------------------------------------------------

    def labels(self, session_id: str, call_id: str) -> dict[str, str]:
        return {SESSION_LABEL: session_id, CALL_LABEL: call_id}

    async def launch_hf(self, *, call_id: str, session_id: str, image: str, command: list[str], env: dict[str, str],
                        flavor: str, timeout_s: int, namespace: str, token: str,
                        price_per_hour: float | None) -> JobHandle:
        """`token`: the job's HF_TOKEN secret (the tool gives it only under a person's approval or the opt-in);
        `price_per_hour`: from the estimator that priced the reservation (None: unknown)."""
        if not self.token:
            raise ToolError("no HF token: set HF_TOKEN to use HF Jobs, or use runtime='local'")
        leaked = [k for k, v in env.items() if self.token in str(v)] + (["command"] if any(
            self.token in part for part in command) else [])
        if leaked:
            raise ToolError(f"the HF token must not appear in {', '.join(leaked)}: it is passed as the HF_TOKEN "
                            "secret already; read it from the environment inside the job")
        info = await hf.call(self.api.run_job, image=image, command=command, env=env,
                             secrets={"HF_TOKEN": token} if token else None, flavor=flavor, timeout=timeout_s,
                             labels=self.labels(session_id, call_id), namespace=namespace,
                             what="the Hub (run job)")
        return self._attach_hf(info, call_id, session_id, timeout_s=timeout_s, price_per_hour=price_per_hour)

    def _attach_hf(self, info: Any, call_id: str, session_id: str, *, timeout_s: int | None = None,
                   reattached: bool = False, price_per_hour: float | None = None) -> JobHandle:
        if info.id in self.handles:
            return self.handles[info.id]
        flavor = str(info.flavor or "")
        handle = JobHandle(job_id=info.id, call_id=call_id, session_id=session_id, runtime="hf",
                           status=info.status.stage, hardware=flavor, namespace=info.owner.name, url=info.url,
                           log_path=self.jobs_dir / f"{info.id}.log", timeout_s=timeout_s or 1800,
                           price_per_hour=price_per_hour, reattached=reattached)
        env = dict(getattr(info, "environment", None) or {})
        handle.trackio_project, handle.dashboard_url = env.get("TRACKIO_PROJECT", ""), dashboard_url(self.endpoint, env)
        if info.created_at is not None:
            handle.started_at = info.created_at.timestamp()
        self.handles[handle.job_id] = handle
        self._save(handle)
        self._update(handle)
        if not (reattached and handle.done and handle.log_path is not None and handle.log_path.exists()):
            # Even a job that is already over gets one pass over its log, so its output shows and `logs` works.
            handle.sink = self._sink(handle, write_file=True)
            loop = asyncio.get_running_loop()
            handle.follower = hf.LogFollower(self.api, handle.job_id, handle.namespace, loop, handle.sink.feed,
                                             lambda text: self._update(handle, text))
            handle.follower.start()
            handle.task = loop.create_task(self._watch_hf(handle))
        return handle

    async def _watch_hf(self, handle: JobHandle) -> None:
        follower = handle.follower
        assert follower is not None
        final = ""
        try:
            while not final:
                try:
                    info = await hf.call(self.api.inspect_job, job_id=handle.job_id, namespace=handle.namespace)
                    changed = info.status.stage != handle.status
                    handle.status, handle.message = info.status.stage, info.status.message or handle.message
                    if handle.status in hf.TERMINAL:
                        final = handle.status
                    elif changed:
                        self._update(handle)
                except ToolError as exc:
                    self._update(handle, f"status check failed: {exc}")
                if not final and time.time() > handle.started_at + handle.timeout_s + 60:
                    # The Hub enforces the timeout; this is the backstop if it did not.
                    with contextlib.suppress(ToolError):
                        await hf.call(self.api.cancel_job, job_id=handle.job_id, namespace=handle.namespace)
                    final, handle.message = "TIMEOUT", f"cancelled at the hard timeout of {handle.timeout_s}s"
                if not final:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(follower.finished.wait()), STATUS_POLL_S)
            # Drain the rest of the log: keep waiting while lines still arrive, give up after 10 s of silence.
            delivered = -1
            while not follower.finished.is_set() and follower.delivered != delivered:
                delivered = follower.delivered
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(follower.finished.wait()), timeout=10)
        except asyncio.CancelledError:
            follower.stop.set()
            if handle.sink is not None:
                handle.sink.close()
            raise
        follower.stop.set()
        self._finish(handle, final)

    # ---- control -------------------------------------------------------------------------------------

    async def cancel(self, handle: JobHandle) -> None:
        if handle.done:
            return
        if handle.runtime == "local":
            handle.status = "CANCELED"
            if handle.process is not None:
                await handle.process.terminate()
            if handle.task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(asyncio.shield(handle.task), timeout=5)
            if not handle.finished_at:
                self._finish(handle, "CANCELED")
            return
        await hf.call(self.api.cancel_job, job_id=handle.job_id, namespace=handle.namespace, what="the Hub (cancel)")
        if handle.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(handle.task), timeout=10)

    async def cancel_job(self, job_id: str) -> str:
        """Cancel by id (the job card's Cancel): a job of this session, or any HF job of the user's."""
        handle = self.handles.get(job_id)
        if handle is None:
            if job_id.startswith("local-") or not self.token:
                raise ToolError(f"no job {job_id!r} in this session")
            namespace = (await self.whoami())["name"]
            await hf.call(self.api.cancel_job, job_id=job_id, namespace=namespace, what="the Hub (cancel)")
            return f"Cancel requested for job {job_id}."
        await self.cancel(handle)
        return f"Job {job_id}: {handle.status}."

    async def wait(self, job_id: str, timeout: float | None = None) -> JobHandle:
        handle = self.handles[job_id]
        if handle.task is not None:
            await asyncio.wait_for(asyncio.shield(handle.task), timeout)
        return handle

    async def close(self) -> None:
        """Stop watching (jobs keep running; a resumed session re-attaches)."""
        for handle in self.handles.values():
            if handle.follower is not None:
                handle.follower.stop.set()
            if handle.task is not None and not handle.task.done():
                handle.task.cancel()
