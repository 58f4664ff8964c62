"""The `hf_jobs` tool: ml-intern's operations and argument names, on HF Jobs or the local runtime."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from ...agent.approval import parse_duration_s
from ...agent.budget import price_per_hour
from ..config import ToolsConfig
from ..credentials import local_launch
from ..registry import Resolved, Tool, ToolContext, ToolError, ToolReturn
from . import hf
from .follow import follow_logs
from .handle import JobHandle
from .local import uv_argv
from .logs import iter_file_lines, render_selection, select_lines
from .manager import JobManager
from .prelaunch import prelaunch_checks
from .scripts import resolve_job_script
from .trackio_link import TRACKIO_SPACE, USES_TRACKIO, ensure_dashboard, trackio_env

Operation = Literal["run", "uv", "ps", "logs", "inspect", "cancel", "hardware", "scheduled run", "scheduled uv",
                    "scheduled ps", "scheduled inspect", "scheduled delete", "scheduled suspend", "scheduled resume"]
DEFAULT_IMAGE = "python:3.12"
LIST_LIMIT = 50


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


def run_mode(operation: str, script: str | None, command: list[str] | str | None) -> Literal["python", "docker"]:
    """ml-intern's rule: `run` with `script` is the Python (uv) mode, with `command` the Docker mode; `uv` is an
    alias of the Python mode. Both or neither is refused with the names to use."""
    kind = operation.removeprefix("scheduled ").strip()
    has_script, has_command = bool(script and script.strip()), bool(_command_list(command))
    if has_script and has_command:
        raise ToolError(f"operation {operation!r} takes `script` (Python mode) or `command` (Docker mode), not "
                        "both: put the Python in `script`, or run it from `command` with an image")
    if has_script:
        return "python"
    if kind == "uv":
        raise ToolError(f"operation {operation!r} needs `script`: the Python source, a workspace .py path or a URL")
    if has_command:
        return "docker"
    raise ToolError(f"operation {operation!r} needs `script` (Python source, a workspace .py file or a URL, with "
                    "`dependencies`) or `command` (a list, e.g. ['python', '-c', 'print(1)'], with `image`)")


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
    if handle.trackio_project:
        where = f"dashboard {handle.dashboard_url}" if handle.dashboard_url else \
            f"local store {handle.trackio_dir}; `TRACKIO_DIR={handle.trackio_dir} trackio show` opens its dashboard"
        lines.append(f"trackio project {handle.trackio_project} ({where}); the job card plots what trackio records.")
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
        trackio_project: str | None = None,
        trackio_space_id: str | None = None,
    ) -> str | ToolReturn:
        """Run a script or container as a job on Hugging Face Jobs (paid; the person approves it on a card) or as a
        local process (runtime='local'), and follow it. A launch returns at once with a job id; logs stream to
        the job card, and the card's pre-launch checks come back with the result.

        run takes exactly one of: `script` (Python mode: uv installs `dependencies`) or `command` (Docker mode,
        in `image`). Before a training job: inspect the data (hf_inspect_dataset), base the script on a current
        example (github_find_examples), smoke-test it (max_steps=10, a short job or sandbox_create).
        - Job storage is ephemeral: the disk is wiped when the job ends. A training script must push its result
          (push_to_hub=True, hub_model_id="user/name", hub_strategy="checkpoint") or the model is lost.
        - timeout is a hard stop and the 30m default kills training. Training takes hours: under 1B 2-3h, 1-3B
          3-4h, 7-13B 6-8h, 30B+ 12-24h. Billing stops when the job ends, so err long.
        - Hardware by GPU memory: params x bytes/param + 20-30% (bf16 inference 2, LoRA ~2, QLoRA ~0.6, full
          fine-tuning with AdamW 16-18). Full fine-tuning of 0.5-1B: a10g-large (24 GB); 1-3B: a100-large;
          7B with LoRA: a100-large. T4 has no bf16. operation='hardware' lists flavours and prices.
        - Logs in plain text: disable_tqdm=True, logging_steps=10-50, logging_first_step=True; metrics with
          report_to="trackio" (TRACKIO_PROJECT is set for every job; on HF Jobs TRACKIO_SPACE_ID too).
        - A sweep or ablation: one job first; read its logs until it trains, only then launch the rest.
        - OOM: halve the batch size and double gradient_accumulation_steps, then gradient_checkpointing=True,
          then a bigger GPU. Keep the scope: never switch to LoRA, cut max_length or swap the model or data.
        Examples: {"operation": "run", "script": "train.py", "dependencies": ["trl", "datasets", "trackio"],
        "hardware_flavor": "a10g-large", "timeout": "3h"}; {"operation": "logs", "job_id": "...",
        "grep": "loss|eval_|Error"}; {"operation": "run", "command": ["duckdb", "-c", "select 42"], "image":
        "duckdb/duckdb", "timeout": "30m"}.

        Args:
            operation: run, ps, logs, inspect, cancel, hardware, or scheduled run/ps/inspect/delete/suspend/resume.
                uv is run in Python mode.
            script: Python mode: the source, a .py file of the workspace (e.g. "train.py") or a URL.
            command: Docker mode: the command as a list, e.g. ["python", "-c", "print(1)"] (or one shell string).
            dependencies: Python mode: pip requirements, e.g. ["transformers", "trl", "datasets", "trackio"].
            image: Docker mode: the image (default python:3.12; the local runtime ignores it).
            hardware_flavor: cpu-basic (default), cpu-upgrade, t4-small, l4x1, a10g-large, a100-large, h100, ...
            timeout: hard timeout, seconds or "30m" / "3h" (default 30m: too short for training).
            env: environment variables for the job; never a token (HF_TOKEN is passed as a secret already).
            namespace: the user or one of their orgs, billed for the job (default: the user).
            job_id: logs, inspect, cancel: the job (see ps).
            scheduled_job_id: scheduled inspect/delete/suspend/resume.
            schedule: scheduled run: cron expression or @hourly, @daily, @weekly.
            script_args: arguments for the script, e.g. ["--max_steps", "10"].
            tail: logs: only the last N lines (max 200).
            grep: logs: only lines matching this regular expression, e.g. "loss|eval_|Error".
            wait: logs of this session's job: wait up to this many seconds (at most 60) for lines you have not
                seen, returning when they arrive or the job ends; only new lines are shown. Follow a running job
                with this instead of calling logs again and again.
            runtime: "hf" (HF Jobs, needs an HF token) or "local" (a process on this machine, free).
            trackio_project: the trackio project of the run (TRACKIO_PROJECT; default: one per session).
            trackio_space_id: HF Jobs: the trackio dashboard Space, "user/name" (TRACKIO_SPACE_ID; default:
                <namespace>/mlintern-trackio).
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
                mode = run_mode(operation, script, command)
                if runtime == "local":
                    job_env = {**(env or {}), **trackio_env(ctx, trackio_project, None, local=True)}
                    return await _run_local(manager, ctx, mode, script, command, dependencies or [],
                                            script_args or [], job_env, seconds, image)
                token = _token_for(ctx, manager)
                ns = await manager.namespace(namespace)
                job_env = {**trackio_env(ctx, trackio_project, trackio_space_id or f"{ns}/{TRACKIO_SPACE}"),
                           **{k: v for k, v in (env or {}).items() if k != "HF_TOKEN"}}
                note = ""
                if mode == "python":
                    # `script` is the source the card showed (resolve_job_script ran before it), never a path.
                    text = script or ""
                    cmd, img = hf.uv_command(text, dependencies or [], script_args or []), image or hf.UV_IMAGE
                    if USES_TRACKIO.search(text) and job_env.get("TRACKIO_SPACE_ID"):
                        note = await ensure_dashboard(manager.api, job_env["TRACKIO_SPACE_ID"])
                else:
                    cmd, img = _command_list(command), image or DEFAULT_IMAGE
                handle = await manager.launch_hf(call_id=ctx.call_id, session_id=ctx.session_id, image=img,
                                                 command=cmd, env=job_env, flavor=hardware_flavor, timeout_s=seconds,
                                                 namespace=ns, token=token,
                                                 price_per_hour=price_per_hour(ctx.services.cost_estimator,
                                                                               ctx.action))
                return _started(handle, note)
            case "ps":
                return await _ps(manager, namespace)
            case "logs" | "inspect" | "cancel":
                if not job_id:
                    raise ToolError(f"operation '{operation}' needs `job_id` (see operation='ps')")
                if operation == "logs" and wait:
                    return await follow_logs(manager, job_id, tail, grep, wait)
                return await _job_op(manager, operation, job_id, namespace, tail, grep)
            case _:
                return await _scheduled(config, manager, ctx, operation, script, command, dependencies or [], image,
                                        hardware_flavor, timeout, env or {}, namespace, scheduled_job_id, schedule,
                                        script_args or [], runtime)

    async def checks(arguments: dict[str, Any], ctx: ToolContext) -> list[str]:
        out = await prelaunch_checks(config, arguments, ctx)
        return out + await _dashboard_fact(job_manager(ctx, config), arguments, ctx)

    async def resolve(arguments: dict, ctx: ToolContext) -> Resolved:
        return await resolve_job_script(config, arguments, ctx)

    return Tool.from_function(hf_jobs, preflight=checks, resolver=resolve)


async def _run_local(manager: JobManager, ctx: ToolContext, mode: str, script: str | None,
                     command: list[str] | str | None, dependencies: list[str], script_args: list[str],
                     env: dict[str, str], seconds: int, image: str | None) -> str:
    notes = []
    readable: list[Path] = []
    if mode == "python":
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
            raise ToolError("scheduled run needs `schedule` (cron expression or @hourly/@daily/@weekly)")
        seconds = _timeout_s(timeout, config)
        if run_mode(operation, script, command) == "python":
            cmd, img = hf.uv_command(script or "", dependencies, script_args), image or hf.UV_IMAGE
        else:
            cmd, img = _command_list(command), image or DEFAULT_IMAGE
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


async def _dashboard_fact(manager: JobManager, arguments: dict[str, Any], ctx: ToolContext) -> list[str]:
    """What approving an HF job whose script logs to trackio also does: create the dashboard Space (first use)."""
    script = arguments.get("script")
    if arguments.get("runtime") == "local" or not manager.token or not isinstance(script, str) or \
            str(arguments.get("operation") or "").strip().lower() not in ("run", "uv") or arguments.get("command"):
        return []
    try:
        if not USES_TRACKIO.search(script):
            return []
        space_id = arguments.get("trackio_space_id") or \
            f"{await manager.namespace(arguments.get('namespace'))}/{TRACKIO_SPACE}"
        exists = await hf.call(manager.api.repo_exists, space_id, repo_type="space", what="the Hub (trackio Space)")
    except ToolError:
        return []  # the launch itself reports what is wrong
    return [] if exists else [f"approving also creates the private trackio dashboard Space {space_id} (first use)"]
