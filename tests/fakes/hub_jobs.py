"""Jobs part of FakeHub (mixed into ``hub.FakeHub``).

Endpoints (``{ns}`` = user or org the token may act in, else 403):

* ``GET  /api/jobs/hardware``                         -> list of JobHardwareInfo JSON (``HARDWARE``)
* ``POST /api/jobs/{ns}``                             -> create (run / uv run); body recorded in ``job.spec``
* ``GET  /api/jobs/{ns}``  ``?stage=..&label=k=v``    -> list
* ``GET  /api/jobs/{ns}/{id}``                        -> JobInfo JSON (owner, status.stage)
* ``GET  /api/jobs/{ns}/{id}/logs``  ``?tail=N``      -> SSE ``data: {"data": line, "timestamp": iso}``
* ``POST /api/jobs/{ns}/{id}/cancel``                 -> stage CANCELED
* ``POST /api/jobs/{ns}/{id}/duplicate``, ``PUT /api/jobs/{ns}/{id}/labels``
* ``POST|GET /api/scheduled-jobs/{ns}``, ``GET|DELETE /api/scheduled-jobs/{ns}/{id}``,
  ``POST /api/scheduled-jobs/{ns}/{id}/suspend|resume|schedule|run``, ``PUT .../labels``

Route names: jobs.hardware, jobs.create, jobs.list, jobs.inspect, jobs.logs, jobs.cancel, jobs.duplicate,
jobs.labels, scheduled.create, scheduled.list, scheduled.inspect, scheduled.delete, scheduled.suspend,
scheduled.resume, scheduled.schedule, scheduled.run, scheduled.labels.

Job behaviour: a job follows a ``JobScript``: SCHEDULING for ``start_delay`` s, then RUNNING, emitting a
"===== Job started at ... =====" banner (filtered by the client) and its ``lines`` one every ``line_delay``
s, then ``final_stage`` (COMPLETED by default, or ERROR with ``message``). ``hold=True`` keeps it RUNNING
after its lines until ``hub.finish_job(id)``. The script of the next created job is taken from
``hub.next_job(...)`` (FIFO), else ``hub.job_script_factory(spec)`` if set, else ``hub.default_job_script``.
``drop_after=N`` cuts the log connection (no terminating chunk) after N events, ``drop_times`` times; the
client reconnects and the fake replays the whole log (as the Hub does). ``hub.logs_idle_close`` (seconds,
default None) ends a log stream that got nothing new for that long, even if the job is still running.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from ._hubutil import iso, object_id
from ._server import DropConnection, HTTPError, RecordedRequest, json_body

TERMINAL = ("COMPLETED", "CANCELED", "ERROR", "DELETED")


def _hw(name, pretty, cpu, ram, storage, per_hour, gpu=None):
    micro = round(per_hour * 1_000_000 / 60)
    acc = None
    if gpu:
        model, qty, vram = gpu
        acc = {"type": "gpu", "model": model, "quantity": str(qty), "vram": vram, "manufacturer": "Nvidia"}
    return {
        "name": name,
        "prettyName": pretty,
        "cpu": cpu,
        "ram": ram,
        "ephemeralStorage": storage,
        "accelerator": acc,
        "unitCostMicroUSD": micro,
        "unitCostUSD": micro / 1_000_000,
        "unitLabel": "minute",
    }


# Prices per hour as listed on https://huggingface.co/pricing (Jobs / Spaces hardware); cost unit is a minute.
HARDWARE: list[dict[str, Any]] = [
    _hw("cpu-basic", "CPU Basic", "2 vCPU", "16 GB", "50 GB", 0.01),
    _hw("cpu-upgrade", "CPU Upgrade", "8 vCPU", "32 GB", "50 GB", 0.03),
    _hw("cpu-performance", "CPU Performance", "32 vCPU", "256 GB", "50 GB", 0.40),
    _hw("cpu-xl", "CPU XL", "16 vCPU", "124 GB", "50 GB", 1.00),
    _hw("t4-small", "Nvidia T4 - small", "4 vCPU", "15 GB", "50 GB", 0.40, ("T4", 1, "16 GB")),
    _hw("t4-medium", "Nvidia T4 - medium", "8 vCPU", "30 GB", "100 GB", 0.60, ("T4", 1, "16 GB")),
    _hw("l4x1", "1x Nvidia L4", "8 vCPU", "30 GB", "400 GB", 0.80, ("L4", 1, "24 GB")),
    _hw("l4x4", "4x Nvidia L4", "48 vCPU", "186 GB", "3200 GB", 3.80, ("L4", 4, "96 GB")),
    _hw("l40sx1", "1x Nvidia L40S", "8 vCPU", "62 GB", "380 GB", 1.80, ("L40S", 1, "48 GB")),
    _hw("l40sx4", "4x Nvidia L40S", "48 vCPU", "382 GB", "3200 GB", 8.30, ("L40S", 4, "192 GB")),
    _hw("l40sx8", "8x Nvidia L40S", "192 vCPU", "1534 GB", "6500 GB", 23.50, ("L40S", 8, "384 GB")),
    _hw("a10g-small", "Nvidia A10G - small", "4 vCPU", "15 GB", "110 GB", 1.00, ("A10G", 1, "24 GB")),
    _hw("a10g-large", "Nvidia A10G - large", "12 vCPU", "46 GB", "200 GB", 1.50, ("A10G", 1, "24 GB")),
    _hw("a10g-largex2", "2x Nvidia A10G - large", "24 vCPU", "92 GB", "1000 GB", 3.00, ("A10G", 2, "48 GB")),
    _hw("a10g-largex4", "4x Nvidia A10G - large", "48 vCPU", "184 GB", "2000 GB", 5.00, ("A10G", 4, "96 GB")),
    _hw("a100-large", "Nvidia A100 - large", "12 vCPU", "142 GB", "1000 GB", 2.50, ("A100", 1, "80 GB")),
    _hw("a100x4", "4x Nvidia A100", "48 vCPU", "568 GB", "4000 GB", 10.00, ("A100", 4, "320 GB")),
    _hw("a100x8", "8x Nvidia A100", "96 vCPU", "1136 GB", "8000 GB", 20.00, ("A100", 8, "640 GB")),
    _hw("h100", "Nvidia H100", "23 vCPU", "240 GB", "3000 GB", 4.50, ("H100", 1, "80 GB")),
    _hw("h100x8", "8x Nvidia H100", "184 vCPU", "1920 GB", "24000 GB", 36.00, ("H100", 8, "640 GB")),
    _hw("h200", "Nvidia H200", "23 vCPU", "256 GB", "3000 GB", 5.00, ("H200", 1, "141 GB")),
    _hw("h200x2", "2x Nvidia H200", "46 vCPU", "512 GB", "6000 GB", 10.00, ("H200", 2, "282 GB")),
    _hw("h200x4", "4x Nvidia H200", "92 vCPU", "1024 GB", "12000 GB", 20.00, ("H200", 4, "564 GB")),
    _hw("h200x8", "8x Nvidia H200", "184 vCPU", "2048 GB", "24000 GB", 40.00, ("H200", 8, "1128 GB")),
]


@dataclass
class JobScript:
    lines: list[str] = field(default_factory=lambda: ["hello from the fake job"])
    line_delay: float | None = None  # None -> hub.log_line_delay
    start_delay: float = 0.0  # seconds in SCHEDULING
    final_stage: str = "COMPLETED"  # or "ERROR"
    message: str | None = None  # status.message once finished
    hold: bool = False  # stay RUNNING after the last line until hub.finish_job()
    drop_after: int | None = None  # cut the log connection after N events ...
    drop_times: int = 1  # ... on this many connections
    banner: bool = True
    # Seconds the job had already been running when it was created (its creation is dated that far back), so a
    # test can have a job that billed an hour without waiting one: with the default script it is over at once.
    ran_for: float = 0.0


class FakeJob:
    def __init__(
        self, job_id: str, namespace: str, owner: dict, spec: dict, script: JobScript, delay: float, initiator: dict
    ) -> None:
        self.id, self.namespace, self.owner, self.spec, self.script = job_id, namespace, owner, spec, script
        self.initiator = initiator
        self.created = time.time() - script.ran_for
        self.labels = dict(spec.get("labels") or {})
        self.run_at = self.created + script.start_delay
        d = script.line_delay if script.line_delay is not None else delay
        t = self.run_at
        self.lines: list[tuple[float, str]] = []
        if script.banner:
            self.lines.append((t, f"===== Job started at {iso(t)} ====="))
        for i, line in enumerate(script.lines):
            self.lines.append((t + (i + 1) * d, line))
        self.final_at: float | None = None if script.hold else t + (len(script.lines) + 1) * d
        if script.ran_for and self.final_at is not None:
            self.final_at = max(self.final_at, time.time())  # it ran all that time and ends now
        self.final_stage = script.final_stage
        self.message = script.message
        self.drops_done = 0

    def stage(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if self.final_at is not None and now >= self.final_at:
            return self.final_stage
        return "SCHEDULING" if now < self.run_at else "RUNNING"

    def visible(self, now: float) -> list[tuple[float, str]]:
        return [x for x in self.lines if x[0] <= now]

    def finish(self, stage: str, message: str | None = None) -> None:
        now = time.time()
        if self.final_at is not None and now >= self.final_at:
            return
        self.final_at, self.final_stage, self.message = now, stage, message
        self.lines = [x for x in self.lines if x[0] <= now]

    def to_json(self) -> dict[str, Any]:
        now = time.time()
        stage = self.stage(now)
        s = self.spec
        out: dict[str, Any] = {
            "id": self.id,
            "createdAt": iso(self.created),
            "command": s.get("command"),
            "arguments": s.get("arguments", []),
            "environment": s.get("environment", {}),
            # the Hub never echoes secret values
            "secrets": {k: None for k in (s.get("secrets") or {})},
            "flavor": s.get("flavor"),
            "labels": self.labels or None,
            "timeoutSeconds": s.get("timeoutSeconds"),
            "status": {"stage": stage, "message": self.message if stage in TERMINAL else None},
            "owner": self.owner,
            "initiator": self.initiator,
        }
        for k in ("dockerImage", "spaceId", "volumes", "attempts", "expose", "network"):
            if k in s:
                out[k] = s[k]
        if stage != "SCHEDULING":
            out["startedAt"] = iso(self.run_at)
        if stage in TERMINAL:
            out["finishedAt"] = iso(self.final_at)
        end = self.final_at if stage in TERMINAL else now
        out["durations"] = {
            "schedulingSecs": int(min(now, self.run_at) - self.created),
            "runningSecs": int(end - self.run_at) if stage != "SCHEDULING" else None,
            "totalSecs": int(end - self.created),
        }
        return out


class JobsMixin:
    def _init_jobs(self, *, log_line_delay: float) -> None:
        self.log_line_delay = log_line_delay
        self.jobs: dict[str, FakeJob] = {}
        self.scheduled_jobs: dict[str, dict[str, Any]] = {}
        self.hardware: list[dict[str, Any]] = [dict(h) for h in HARDWARE]
        self.default_job_script = JobScript()
        self.job_script_factory: Callable[[dict], JobScript] | None = None
        self._job_queue: deque[JobScript] = deque()
        self.logs_idle_close: float | None = None
        self.logs_keepalive: float = 30.0

    # --- test API --------------------------------------------------------
    def next_job(self, lines: list[str] | str | None = None, **kw: Any) -> JobScript:
        """Queue the script of the next created job. ``lines`` may be a list or a multi-line string."""
        if isinstance(lines, str):
            lines = lines.splitlines()
        script = JobScript(lines=list(lines) if lines is not None else JobScript().lines, **kw)
        with self.lock:
            self._job_queue.append(script)
        return script

    def clear_job_queue(self) -> None:
        """Forget the scripts queued with next_job() that no job took."""
        with self.lock:
            self._job_queue.clear()

    def add_hardware(self, name: str, per_hour: float, gpu: tuple[str, int, str] | None = None) -> None:
        """A flavour the Hub lists (and prices) beyond the built-in ones, e.g. one newer than a client's table."""
        with self.lock:
            self.hardware.append(_hw(name, name, "8 vCPU", "64 GB", "500 GB", per_hour, gpu))

    def finish_job(self, job_id: str, stage: str = "COMPLETED", message: str | None = None) -> None:
        with self.lock:
            self.jobs[job_id].finish(stage, message)

    def append_log(self, job_id: str, *lines: str) -> None:
        with self.lock:
            now = time.time()
            self.jobs[job_id].lines.extend((now, ln) for ln in lines)

    @property
    def last_job(self) -> FakeJob | None:
        with self.lock:
            return list(self.jobs.values())[-1] if self.jobs else None

    def price_per_hour(self, flavor: str) -> float:
        h = next(h for h in self.hardware if h["name"] == flavor)
        return h["unitCostUSD"] * 60

    def billed_usd(self, job_id: str) -> float:
        """What the Hub bills for a job: its flavour's price for the time it ran (so far, if still running)."""
        with self.lock:
            job = self.jobs[job_id]
            end = job.final_at if job.stage() in TERMINAL and job.final_at is not None else time.time()
            seconds = max(0.0, end - job.run_at)
            return self.price_per_hour(job.spec.get("flavor", "cpu-basic")) * seconds / 3600

    # --- routes ------------------------------------------------------------
    def _setup_jobs_routes(self) -> None:
        ns, jid = r"(?P<ns>[^/]+)", r"(?P<job_id>[^/]+)"
        self.add("GET", r"/api/jobs/hardware", lambda rec: JSONResponse(self.hardware), "jobs.hardware")
        self.add("POST", rf"/api/jobs/{ns}", self._create_job, "jobs.create")
        self.add("GET", rf"/api/jobs/{ns}", self._list_jobs, "jobs.list")
        self.add("GET", rf"/api/jobs/{ns}/{jid}", self._inspect_job, "jobs.inspect")
        self.add("GET", rf"/api/jobs/{ns}/{jid}/logs", self._job_logs, "jobs.logs")
        self.add("POST", rf"/api/jobs/{ns}/{jid}/cancel", self._cancel_job, "jobs.cancel")
        self.add("POST", rf"/api/jobs/{ns}/{jid}/duplicate", self._duplicate_job, "jobs.duplicate")
        self.add("PUT", rf"/api/jobs/{ns}/{jid}/labels", self._job_labels, "jobs.labels")
        sj = r"(?P<sid>[^/]+)"
        self.add("POST", rf"/api/scheduled-jobs/{ns}", self._create_scheduled, "scheduled.create")
        self.add("GET", rf"/api/scheduled-jobs/{ns}", self._list_scheduled, "scheduled.list")
        self.add("GET", rf"/api/scheduled-jobs/{ns}/{sj}", self._inspect_scheduled, "scheduled.inspect")
        self.add("DELETE", rf"/api/scheduled-jobs/{ns}/{sj}", self._delete_scheduled, "scheduled.delete")
        self.add("POST", rf"/api/scheduled-jobs/{ns}/{sj}/suspend", self._suspend_scheduled, "scheduled.suspend")
        self.add("POST", rf"/api/scheduled-jobs/{ns}/{sj}/resume", self._resume_scheduled, "scheduled.resume")
        self.add("POST", rf"/api/scheduled-jobs/{ns}/{sj}/schedule", self._reschedule, "scheduled.schedule")
        self.add("POST", rf"/api/scheduled-jobs/{ns}/{sj}/run", self._trigger_scheduled, "scheduled.run")
        self.add("PUT", rf"/api/scheduled-jobs/{ns}/{sj}/labels", self._scheduled_labels, "scheduled.labels")

    def _validate_spec(self, spec: Any) -> dict:
        if not isinstance(spec, dict) or not isinstance(spec.get("command"), list):
            raise HTTPError(400, "Invalid job spec: 'command' must be a list of strings")
        if not (spec.get("dockerImage") or spec.get("spaceId")):
            raise HTTPError(400, "Invalid job spec: one of 'dockerImage' or 'spaceId' is required")
        flavor = spec.get("flavor", "cpu-basic")
        if flavor not in {h["name"] for h in self.hardware}:
            raise HTTPError(400, f"Invalid flavor '{flavor}'")
        return spec

    def _new_job(self, ns: str, owner: dict, spec: dict, initiator: dict) -> FakeJob:
        with self.lock:
            if self._job_queue:
                script = self._job_queue.popleft()
            elif self.job_script_factory is not None:
                script = self.job_script_factory(spec)
            else:
                script = self.default_job_script
            job = FakeJob(object_id(), ns, owner, spec, script, self.log_line_delay, initiator)
            self.jobs[job.id] = job
            return job

    def _get_job(self, ns: str, job_id: str) -> FakeJob:
        job = self.jobs.get(job_id)
        if job is None or job.namespace != ns:
            raise HTTPError(404, f"Job {job_id} not found")
        return job

    def _create_job(self, rec: RecordedRequest, ns: str) -> Response:
        owner = self.owner_for(rec, ns)
        spec = self._validate_spec(json_body(rec))
        job = self._new_job(ns, owner, spec, {"type": owner["type"], "id": owner["id"], "name": owner["name"]})
        return JSONResponse(job.to_json())

    def _list_jobs(self, rec: RecordedRequest, ns: str) -> Response:
        self.owner_for(rec, ns)
        stages = [v for k, v in rec.query_list if k == "stage"]
        labels = [v.split("=", 1) for k, v in rec.query_list if k == "label"]
        with self.lock:
            jobs = [j for j in self.jobs.values() if j.namespace == ns]
        out = []
        for j in jobs:
            if stages and j.stage() not in stages:
                continue
            if any(j.labels.get(k) != (v[0] if v else "") for k, *v in labels):
                continue
            out.append(j.to_json())
        return JSONResponse(out)

    def _inspect_job(self, rec: RecordedRequest, ns: str, job_id: str) -> Response:
        self.owner_for(rec, ns)
        return JSONResponse(self._get_job(ns, job_id).to_json())

    def _cancel_job(self, rec: RecordedRequest, ns: str, job_id: str) -> Response:
        self.owner_for(rec, ns)
        with self.lock:
            job = self._get_job(ns, job_id)
            if job.stage() not in TERMINAL:
                job.finish("CANCELED", "Job canceled by user")
        return Response(status_code=200)

    def _duplicate_job(self, rec: RecordedRequest, ns: str, job_id: str) -> Response:
        owner = self.owner_for(rec, ns)
        old = self._get_job(ns, job_id)
        job = self._new_job(ns, owner, dict(old.spec), {"type": "duplicated-job", "id": old.id})
        return JSONResponse(job.to_json())

    def _job_labels(self, rec: RecordedRequest, ns: str, job_id: str) -> Response:
        self.owner_for(rec, ns)
        job = self._get_job(ns, job_id)
        job.labels = dict((json_body(rec) or {}).get("labels") or {})
        return JSONResponse(job.to_json())

    def _job_logs(self, rec: RecordedRequest, ns: str, job_id: str) -> Response:
        self.owner_for(rec, ns)
        job = self._get_job(ns, job_id)
        tail = rec.query.get("tail")
        with self.lock:
            drop = job.script.drop_after is not None and job.drops_done < job.script.drop_times
            if drop:
                job.drops_done += 1

        async def events():
            idx = 0
            if tail is not None:
                idx = max(0, len(job.visible(time.time())) - int(tail))
            emitted, last_new, last_ka = 0, time.time(), time.time()
            while True:
                now = time.time()
                vis = job.visible(now)
                while idx < len(vis):
                    ts, text = vis[idx]
                    yield f"data: {json.dumps({'data': text, 'timestamp': iso(ts)})}\n\n".encode()
                    idx += 1
                    emitted += 1
                    last_new = now
                    if drop and emitted >= job.script.drop_after:
                        raise DropConnection(f"dropping log stream of {job.id} after {emitted} events")
                if job.stage(now) in TERMINAL and idx >= len(job.visible(now)):
                    return
                if self.logs_idle_close is not None and now - last_new >= self.logs_idle_close:
                    return
                if now - last_ka >= self.logs_keepalive:
                    last_ka = now
                    yield b": keep-alive\n\n"
                await asyncio.sleep(0.01)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    # --- scheduled jobs -------------------------------------------------------
    def _sched_json(self, s: dict) -> dict:
        return {k: v for k, v in s.items() if not k.startswith("_")}

    def _get_sched(self, ns: str, sid: str) -> dict:
        s = self.scheduled_jobs.get(sid)
        if s is None or s["_namespace"] != ns:
            raise HTTPError(404, f"Scheduled job {sid} not found")
        return s

    def _create_scheduled(self, rec: RecordedRequest, ns: str) -> Response:
        owner = self.owner_for(rec, ns)
        body = json_body(rec) or {}
        spec = self._validate_spec(body.get("jobSpec"))
        if not body.get("schedule"):
            raise HTTPError(400, "Missing 'schedule'")
        sid = object_id()
        s = {
            "id": sid,
            "createdAt": iso(),
            "jobSpec": spec,
            "schedule": body["schedule"],
            "suspend": bool(body.get("suspend", False)),
            "concurrency": bool(body.get("concurrency", False)),
            "status": {"lastJob": None, "nextJobRunAt": iso(time.time() + 3600)},
            "owner": owner,
            "_namespace": ns,
        }
        with self.lock:
            self.scheduled_jobs[sid] = s
        return JSONResponse(self._sched_json(s))

    def _list_scheduled(self, rec: RecordedRequest, ns: str) -> Response:
        self.owner_for(rec, ns)
        return JSONResponse([self._sched_json(s) for s in self.scheduled_jobs.values() if s["_namespace"] == ns])

    def _inspect_scheduled(self, rec: RecordedRequest, ns: str, sid: str) -> Response:
        self.owner_for(rec, ns)
        return JSONResponse(self._sched_json(self._get_sched(ns, sid)))

    def _delete_scheduled(self, rec: RecordedRequest, ns: str, sid: str) -> Response:
        self.owner_for(rec, ns)
        self._get_sched(ns, sid)
        with self.lock:
            del self.scheduled_jobs[sid]
        return Response(status_code=200)

    def _set_suspend(self, rec, ns, sid, value: bool) -> Response:
        self.owner_for(rec, ns)
        self._get_sched(ns, sid)["suspend"] = value
        return Response(status_code=200)

    def _suspend_scheduled(self, rec: RecordedRequest, ns: str, sid: str) -> Response:
        return self._set_suspend(rec, ns, sid, True)

    def _resume_scheduled(self, rec: RecordedRequest, ns: str, sid: str) -> Response:
        return self._set_suspend(rec, ns, sid, False)

    def _reschedule(self, rec: RecordedRequest, ns: str, sid: str) -> Response:
        self.owner_for(rec, ns)
        s = self._get_sched(ns, sid)
        s["schedule"] = (json_body(rec) or {}).get("schedule", s["schedule"])
        return JSONResponse(self._sched_json(s))

    def _scheduled_labels(self, rec: RecordedRequest, ns: str, sid: str) -> Response:
        self.owner_for(rec, ns)
        s = self._get_sched(ns, sid)
        s["jobSpec"] = {**s["jobSpec"], "labels": (json_body(rec) or {}).get("labels") or {}}
        return JSONResponse(self._sched_json(s))

    def _trigger_scheduled(self, rec: RecordedRequest, ns: str, sid: str) -> Response:
        owner = self.owner_for(rec, ns)
        s = self._get_sched(ns, sid)
        job = self._new_job(ns, owner, dict(s["jobSpec"]), {"type": "scheduled-job", "id": sid})
        s["status"]["lastJob"] = {"id": job.id, "at": iso(job.created)}
        return JSONResponse(job.to_json())
