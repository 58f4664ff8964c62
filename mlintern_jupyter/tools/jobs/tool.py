"""The `hf_jobs` tool: ml-intern's operations and argument names, on HF Jobs or the local runtime."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from pathlib import Path
from typing import Literal

from ...agent.approval import parse_duration_s
from ...agent.budget import price_per_hour
from ..config import ToolsConfig
from ..credentials import local_launch
from ..registry import Resolved, Tool, ToolContext, ToolError, ToolReturn
from . import hf
from .local import uv_argv
from .logs import iter_file_lines, render_selection, select_lines
from .manager import JobHandle, JobManager
from .scripts import resolve_job_script

Operation = Literal["run", "uv", "ps", "logs", "inspect", "cancel", "hardware", "scheduled run", "scheduled uv",
                    "scheduled ps", "scheduled inspect", "scheduled delete", "scheduled suspend", "scheduled resume"]
DEFAULT_IMAGE = "python:3.12"
LIST_LIMIT = 50
# The longest a `logs` call waits for new output: long enough to follow a job without a call every few seconds,
# short enough that Stop and the person's next prompt are never far away.
MAX_WAIT_S = 60


def job_manager(ctx: ToolContext, config: ToolsConfig) -> JobManager:
    """The session's JobManager (created on first use and kept in the session's `services.jobs`)."""
    existing = ctx.services.jobs
    if isinstance(existing, JobManager):
        return existing
    manager = JobManager(jobs_dir=ctx.session_dir / "jobs", emit=ctx.emit, ledger=ctx.ledger,
                         endpoint=config.hf_endpoint, token=config.resolved_hf_token())
    ctx.services.jobs = manager
    return manager


def _timeout_s(timeout: int | str | None, config: ToolsConfig) -> int:
    seconds = parse_duration_s(timeout if timeout not in (None, "") else config.default_job_timeout)
    if seconds is None:
        raise ToolError(f"timeout {timeout!r} is not a duration: use seconds or '30m', '2h'")
    if seconds > config.max_job_timeout_s:
        raise ToolError(f"timeout {seconds}s is over the configured maximum of {config.max_job_timeout_s}s")
    return seconds


def _command_list(command: list[str] | str | None) -> list[str]:
    if isinstance(command, str):
        return ["bash", "-c", command] if command.strip() else []
    return list(command or [])


def _token_for(ctx: ToolContext, manager: JobManager) -> str:
    """The HF token a job receives as its secret: only when a person approved it or opted in for the session."""
    if not ctx.may_send_hf_token():
        raise ToolError("this job would receive your HF token, and only a person's approval (or `%intern allow "
                        "hf-token-jobs`) may give it one")
    return manager.token or ""


def _save_script(ctx: ToolContext, text: str) -> Path:
    return ctx.script_store().save(f"job_{ctx.call_id or 'script'}.py", text)


def _started(handle: JobHandle, note: str = "") -> str:
    verb = "Re-attached to" if handle.reattached else "Started"
    where = "on HF Jobs" if handle.runtime == "hf" else "as a local process"
    lines = [f"{verb} job {handle.job_id} {where} (status {handle.status}, hard timeout {handle.timeout_s}s)."]
    if handle.reattached:
        lines.append("No new job was launched: this call had launched it before.")
    if handle.url:
        lines.append(f"URL: {handle.url}")
    if note:
        lines.append(note)
    lines.append(f"Logs stream to the job card. Check on it with hf_jobs operation='logs' job_id='{handle.job_id}' "
                 "(tail=N or grep='pattern') or operation='inspect'; it keeps running while you work.")
    return "\n".join(lines)


def _cap(text: str, limit: int = 12_000) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} characters cut]"


def make_hf_jobs(config: ToolsConfig) -> Tool:
    default_runtime = config.resolved_runtime()

    async def hf_jobs(
        operation: Operation,
        ctx: ToolContext,
        script: str | None = None,
        command: list[str] | str | None = None,
        dependencies: list[str] | None = None,
        image: str | None = None,
        hardware_flavor: str = "cpu-basic",
        timeout: int | str = config.default_job_timeout,
        env: dict[str, str] | None = None,
        namespace: str | None = None,
        job_id: str | None = None,
        scheduled_job_id: str | None = None,
        schedule: str | None = None,
        script_args: list[str] | None = None,
        tail: int | None = None,
        grep: str | None = None,
        wait: int | None = None,
        runtime: Literal["hf", "local"] = default_runtime,
    ) -> str | ToolReturn:
        """Run and follow compute jobs: on Hugging Face Jobs, or as a local process (runtime='local').

        Args:
            operation: run (image + command), uv (a Python script run with uv, dependencies declared), ps, logs,
                inspect, cancel, hardware (flavours and prices), or scheduled run/uv/ps/inspect/delete/suspend/resume.
            script: for uv: the Python source, a path to a .py file in the workspace, or a URL (read before the
                approval card, which shows the source; the job runs exactly those bytes).
            command: for run: the command as a list of strings (or one shell string).
            dependencies: for uv: pip requirements, e.g. ["trl", "datasets"].
            image: for run: the Docker image (default python:3.12; ignored by the local runtime).
            hardware_flavor: HF hardware, e.g. cpu-basic, t4-small, a10g-large, a100-large (see operation='hardware').
            timeout: hard timeout, seconds or '30m' / '2h'. The job is stopped when it is reached.
            env: environment variables (never secrets: the HF token is passed to the job as a secret already).
            namespace: the user or one of their orgs (default: the user).
            job_id: for logs, inspect, cancel.
            scheduled_job_id: for scheduled inspect/delete/suspend/resume.
            schedule: for scheduled run/uv: cron expression or @hourly, @daily, @weekly.
            script_args: arguments passed to the uv script.
            tail: for logs: the last N lines (max 200).
            grep: for logs: only lines matching this regular expression.
            wait: for logs of a job of this session: wait up to this many seconds (at most 60) for output you have
                not seen yet, returning as soon as it arrives or the job ends; only the new lines are shown. Follow
                a running job with this instead of calling logs again and again.
            runtime: 'hf' (HF Jobs, needs an HF token) or 'local' (a subprocess on this machine).
        """
        manager = job_manager(ctx, config)
        match operation:
            case "hardware":
                rows = await manager.hardware()
                return "\n".join(["name | price_per_hour_usd | accelerator",
                                  *[f"{r['name']} | {r['price_per_hour']} | {r.get('accelerator') or '-'}"
                                    for r in rows]])
            case "run" | "uv":
                seconds = _timeout_s(timeout, config)
                existing = await manager.find_existing(ctx.session_id, ctx.call_id) if ctx.call_id else None
                if existing is not None:
                    return _started(existing)
                if operation == "uv" and not script:
                    raise ToolError("operation 'uv' needs `script` (Python source, a workspace .py path or a URL)")
                if operation == "run" and not _command_list(command):
                    raise ToolError("operation 'run' needs `command`, e.g. ['python', '-c', 'print(1)']")
                if runtime == "local":
                    return await _run_local(manager, ctx, operation, script, command, dependencies or [],
                                            script_args or [], env or {}, seconds, image)
                token = _token_for(ctx, manager)
                ns = await manager.namespace(namespace)
                if operation == "uv":
                    # `script` is the source the card showed (resolve_job_script ran before it), never a path.
                    cmd = hf.uv_command(script or "", dependencies or [], script_args or [])
                    img = image or hf.UV_IMAGE
                else:
                    cmd, img = _command_list(command), image or DEFAULT_IMAGE
                handle = await manager.launch_hf(call_id=ctx.call_id, session_id=ctx.session_id, image=img,
                                                 command=cmd, env={k: v for k, v in (env or {}).items()
                                                                   if k != "HF_TOKEN"},
                                                 flavor=hardware_flavor, timeout_s=seconds, namespace=ns, token=token,
                                                 price_per_hour=price_per_hour(ctx.services.cost_estimator,
                                                                               ctx.action))
                return _started(handle)
            case "ps":
                return await _ps(manager, namespace)
            case "logs" | "inspect" | "cancel":
                if not job_id:
                    raise ToolError(f"operation '{operation}' needs `job_id` (see operation='ps')")
                if operation == "logs" and wait:
                    return await _follow(manager, job_id, tail, grep, wait)
                return await _job_op(manager, operation, job_id, namespace, tail, grep)
            case _:
                return await _scheduled(config, manager, ctx, operation, script, command, dependencies or [], image,
                                        hardware_flavor, timeout, env or {}, namespace, scheduled_job_id, schedule,
                                        script_args or [], runtime)

    async def resolve(arguments: dict, ctx: ToolContext) -> Resolved:
        return await resolve_job_script(config, arguments, ctx)

    return Tool.from_function(hf_jobs, resolver=resolve)


async def _run_local(manager: JobManager, ctx: ToolContext, operation: str, script: str | None,
                     command: list[str] | str | None, dependencies: list[str], script_args: list[str],
                     env: dict[str, str], seconds: int, image: str | None) -> str:
    notes = []
    readable: list[Path] = []
    if operation == "uv":
        path = _save_script(ctx, script or "")
        argv, how = uv_argv(path, dependencies, script_args)
        readable.append(path.parent)
        notes.append(f"Script saved to {path}; runs with {how}.")
    else:
        argv = _command_list(command)
    if image:
        notes.append(f"The local runtime ignores image {image!r}: it runs on this machine's environment.")
    argv, process_env = local_launch(argv, ctx.workspace, approved_by=ctx.approved_by, token=manager.token,
                                     extra=env or {}, readable=readable)
    handle = await manager.launch_local(call_id=ctx.call_id, session_id=ctx.session_id, argv=argv, cwd=ctx.workspace,
                                        env=process_env, timeout_s=seconds)
    return _started(handle, " ".join(notes))


async def _ps(manager: JobManager, namespace: str | None) -> str:
    lines = [json.dumps(h.summary()) for h in manager.handles.values()]
    out = [f"Jobs of this session ({len(lines)}):", *lines[-LIST_LIMIT:]]
    if manager.token:
        ns = await manager.namespace(namespace)
        jobs = list(await hf.call(manager.api.list_jobs, namespace=ns, what="the Hub (list jobs)"))
        out.append(f"HF jobs in {ns} ({len(jobs)}, newest last, at most {LIST_LIMIT}):")
        out += [json.dumps({"job_id": j.id, "status": j.status.stage, "flavor": j.flavor,
                            "created_at": str(j.created_at), "labels": j.labels}) for j in jobs[-LIST_LIMIT:]]
    return _cap("\n".join(out))


async def _wait_for_output(handle: JobHandle, seconds: float) -> bool:
    """True as soon as the job has lines the model has not seen, or has ended; False after `seconds` of neither."""
    deadline = time.monotonic() + seconds
    sink = handle.sink
    while True:
        if sink is not None:
            sink.grew.clear()  # before the check: lines fed after it set it again
        if handle.done or (sink is not None and sink.total_lines > handle.seen_lines):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if sink is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sink.grew.wait(), min(left, 0.5))
        else:
            await asyncio.sleep(min(left, 0.5))


async def _follow(manager: JobManager, job_id: str, tail: int | None, grep: str | None,
                  wait: int) -> str | ToolReturn:
    """`logs` with a wait: the lines after those already shown, as soon as there are any (or the job ended)."""
    handle = manager.handles.get(job_id)
    if handle is None or handle.log_path is None:
        raise ToolError(f"wait works for jobs of this session (see operation='ps'); {job_id!r} is not one: "
                        "call logs without wait")
    seconds = max(1, min(int(wait), MAX_WAIT_S))
    if not await _wait_for_output(handle, seconds):
        total = handle.sink.total_lines if handle.sink is not None else handle.seen_lines
        return ToolReturn(f"Job {job_id} is still {handle.status}: no new output in {seconds} s ({total} lines so "
                          "far). Wait again (wait=N), or work on something else and check back.", polling=True)
    seen = handle.seen_lines
    lines = iter_file_lines(handle.log_path) if handle.log_path.exists() else iter(())
    selected, scanned, matched = select_lines(itertools.islice(lines, seen, None), tail=tail, grep=grep)
    handle.seen_lines = seen + scanned
    source = f"status {handle.status}; new since the last wait; full log {handle.log_path}"
    return render_selection(job_id, selected, scanned, matched, grep=grep, source=source)


async def _job_op(manager: JobManager, operation: str, job_id: str, namespace: str | None, tail: int | None,
                  grep: str | None) -> str:
    handle = manager.handles.get(job_id)
    if handle is None and job_id.startswith("local-"):
        raise ToolError(f"no local job {job_id!r} in this session (see operation='ps')")
    if operation == "logs":
        if handle is not None and handle.log_path is not None and handle.log_path.exists():
            selected, scanned, matched = select_lines(iter_file_lines(handle.log_path), tail=tail, grep=grep)
            source = f"status {handle.status}; full log {handle.log_path}"
        else:
            ns = await manager.namespace(namespace)
            lines = await hf.call(lambda: select_lines(manager.api.fetch_job_logs(job_id=job_id, namespace=ns),
                                                       tail=tail, grep=grep), what="the Hub (job logs)")
            selected, scanned, matched = lines
            source = "fetched from the Hub"
        return render_selection(job_id, selected, scanned, matched, grep=grep, source=source)
    if operation == "cancel":
        if handle is None:
            ns = await manager.namespace(namespace)
            await hf.call(manager.api.cancel_job, job_id=job_id, namespace=ns, what="the Hub (cancel)")
            return f"Cancel requested for job {job_id}."
        await manager.cancel(handle)
        return f"Job {job_id}: {handle.status}."
    if handle is not None and (handle.runtime == "local" or handle.done):
        return json.dumps(handle.summary(), indent=1)
    ns = handle.namespace if handle is not None else await manager.namespace(namespace)
    info = await hf.call(manager.api.inspect_job, job_id=job_id, namespace=ns, what="the Hub (inspect job)")
    return _cap(json.dumps({"job_id": info.id, "status": info.status.stage, "message": info.status.message,
                            "flavor": info.flavor, "image": info.docker_image, "command": info.command,
                            "labels": info.labels, "created_at": str(info.created_at), "url": info.url,
                            **({"watched": handle.summary()} if handle else {})}, indent=1, default=str))


async def _scheduled(config: ToolsConfig, manager: JobManager, ctx: ToolContext, operation: str, script: str | None,
                     command: list[str] | str | None, dependencies: list[str], image: str | None, flavor: str,
                     timeout: int | str, env: dict[str, str], namespace: str | None, scheduled_job_id: str | None,
                     schedule: str | None, script_args: list[str], runtime: str) -> str:
    if runtime == "local" or not manager.token:
        raise ToolError("scheduled jobs run on HF Jobs only: set HF_TOKEN and use runtime='hf'")
    ns = await manager.namespace(namespace)
    api = manager.api
    kind = operation.removeprefix("scheduled ").strip()
    if kind in ("run", "uv"):
        if not schedule:
            raise ToolError("scheduled run/uv needs `schedule` (cron expression or @hourly/@daily/@weekly)")
        seconds = _timeout_s(timeout, config)
        if kind == "uv":
            if not script:
                raise ToolError("scheduled uv needs `script`")
            cmd, img = hf.uv_command(script, dependencies, script_args), image or hf.UV_IMAGE
        else:
            cmd, img = _command_list(command), image or DEFAULT_IMAGE
            if not cmd:
                raise ToolError("scheduled run needs `command`")
        info = await hf.call(api.create_scheduled_job, image=img, command=cmd, schedule=schedule,
                             env={k: v for k, v in env.items() if k != "HF_TOKEN"},
                             secrets={"HF_TOKEN": _token_for(ctx, manager)}, flavor=flavor, timeout=seconds,
                             labels=manager.labels(ctx.session_id, ctx.call_id), namespace=ns,
                             what="the Hub (scheduled job)")
        return f"Scheduled job {info.id} created ({schedule}, {flavor}) in {ns}."
    if kind == "ps":
        items = await hf.call(api.list_scheduled_jobs, namespace=ns, what="the Hub (scheduled jobs)")
        return _cap("\n".join([f"Scheduled jobs in {ns}:", *[json.dumps(
            {"scheduled_job_id": s.id, "schedule": s.schedule, "suspend": s.suspend}) for s in items]]))
    if not scheduled_job_id:
        raise ToolError(f"scheduled {kind} needs `scheduled_job_id` (see operation='scheduled ps')")
    if kind == "inspect":
        info = await hf.call(api.inspect_scheduled_job, scheduled_job_id=scheduled_job_id, namespace=ns)
        return _cap(json.dumps({"scheduled_job_id": info.id, "schedule": info.schedule, "suspend": info.suspend,
                                "owner": getattr(info.owner, "name", None), "status": str(info.status)},
                               indent=1, default=str))
    method = {"delete": api.delete_scheduled_job, "suspend": api.suspend_scheduled_job,
              "resume": api.resume_scheduled_job}.get(kind)
    if method is None:
        raise ToolError(f"unknown operation {operation!r}")
    await hf.call(method, scheduled_job_id=scheduled_job_id, namespace=ns, what=f"the Hub (scheduled {kind})")
    return f"Scheduled job {scheduled_job_id}: {kind} done."
