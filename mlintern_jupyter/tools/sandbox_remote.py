"""sandbox_create: a GPU sandbox on a private HF Space running the package's `sandbox_server.py`.

The Space gets a random SANDBOX_TOKEN secret (the server refuses requests without it). It gets the person's HF
token only deliberately: when a person approved the card (which says so) or opted in for the session
(`%intern allow hf-token-jobs`); then commands run there see HF_TOKEN, as a job's code does. The tool waits until
the Space runs, then keeps the sandbox's URL and token in the session's services (`services.sandbox`).

Money: a Space bills while it is awake, so the sandbox has a hard lifetime (`timeout`, capped): its worst case,
price per hour x lifetime, is reserved before the card's approval takes effect; the Space is paused when the
lifetime ends, and the reservation is settled then or when the model deletes the Space, whichever comes first.
`sleep_time` (idle minutes before the Space sleeps) is capped too: the model once chose 7 days on an A100.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import httpx

from ..agent.approval import parse_duration_s
from ..agent.budget import price_per_hour
from .config import ToolsConfig
from .jobs.hf import call, make_api
from .jobs.trackio_link import trackio_env
from .registry import Resolved, Tool, ToolContext, ToolError

DEFAULT_LIFETIME = "2h"
MAX_LIFETIME_S = 12 * 3600
MAX_SLEEP_S = 3600
MIN_SLEEP_S = 300

DOCKERFILE = """FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY sandbox_server.py /app/sandbox_server.py
ENV PORT=7860 SANDBOX_ROOT=/tmp/workspace
EXPOSE 7860
CMD ["python", "/app/sandbox_server.py"]
"""
README = """---
title: mlintern sandbox
sdk: docker
app_port: 7860
---
A private sandbox started by mlintern-jupyter. Delete it when done.
"""


@dataclass
class SandboxInfo:
    repo_id: str
    url: str
    token: str
    hardware: str
    # The call that created it (its reservation), when it started, its price and hard lifetime.
    call_id: str = ""
    started_at: float = field(default_factory=time.time)
    price_per_hour: float | None = None
    lifetime_s: int = 0
    expiry: asyncio.Task[None] | None = None
    ended: bool = False

    def cost_usd(self, now: float | None = None) -> float | None:
        """Awake time at most (a sleeping Space bills nothing, but that cannot be told from here)."""
        if self.price_per_hour is None:
            return None
        seconds = min(max(0.0, (now or time.time()) - self.started_at), float(self.lifetime_s or 1e12))
        return round(self.price_per_hour * seconds / 3600, 6)


def end_sandbox(ctx: ToolContext, why: str) -> None:
    """The session's sandbox is gone (deleted or paused at its lifetime): settle its reservation, once."""
    info = ctx.services.sandbox
    if not isinstance(info, SandboxInfo) or info.ended:
        return
    info.ended = True
    if info.expiry is not None and info.expiry is not asyncio.current_task():
        info.expiry.cancel()
    if ctx.ledger is not None and info.call_id:
        ctx.ledger.settle_compute(info.call_id, info.repo_id, info.cost_usd())
    ctx.services.sandbox = None
    ctx.output(f"sandbox {info.repo_id}: {why}\n")


async def _expire(ctx: ToolContext, api: Any, info: SandboxInfo) -> None:
    """At the end of its lifetime the Space is paused (it stops billing; the person can restart or delete it)."""
    await asyncio.sleep(info.lifetime_s)
    with contextlib.suppress(ToolError):
        await call(api.pause_space, info.repo_id, what="the Hub (pause Space)")
    end_sandbox(ctx, f"paused at the end of its lifetime ({info.lifetime_s}s)")


def _lifetime_s(timeout: int | str) -> int:
    seconds = parse_duration_s(timeout)
    if seconds is None:
        raise ToolError(f"timeout {timeout!r} is not a duration: use seconds or '30m', '2h'")
    if seconds > MAX_LIFETIME_S:
        raise ToolError(f"timeout {seconds}s is over the sandbox's maximum lifetime of {MAX_LIFETIME_S}s; start "
                        "another sandbox later if the work needs more")
    return seconds


async def _check_sandbox_arguments(arguments: dict[str, Any], ctx: ToolContext) -> Resolved:
    """Refused before the card: a lifetime over the cap, or a sleep time over an hour."""
    lifetime = _lifetime_s(arguments.get("timeout", DEFAULT_LIFETIME))
    sleep = arguments.get("sleep_time")
    if not isinstance(sleep, int) or not MIN_SLEEP_S <= sleep <= MAX_SLEEP_S:
        raise ToolError(f"sleep_time must be {MIN_SLEEP_S}-{MAX_SLEEP_S} seconds (idle time before the Space sleeps "
                        f"and stops billing); it was {sleep!r}")
    return Resolved(arguments, note=f"paused after {lifetime}s at the latest")


class SandboxClient:
    """Calls a running sandbox server (the Space, or a loopback one in tests)."""

    def __init__(self, url: str, token: str, timeout: float = 600.0) -> None:
        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(self.url + path, json=payload,
                                         headers={"Authorization": f"Bearer {self.token}"})
        data = response.json()
        if response.status_code >= 400:
            raise ToolError(f"sandbox answered HTTP {response.status_code}: {data.get('error', '')}")
        return data

    async def exec(self, command: str, timeout: float = 120) -> dict[str, Any]:
        return await self._post("/exec", {"command": command, "timeout": timeout})

    async def read(self, path: str) -> dict[str, Any]:
        return await self._post("/read", {"path": path})

    async def write(self, path: str, content: str) -> dict[str, Any]:
        return await self._post("/write", {"path": path, "content": content})


def space_url(repo_id: str) -> str:
    return f"https://{repo_id.replace('/', '-').replace('_', '-').lower()}.hf.space"


def make_sandbox_create(config: ToolsConfig) -> Tool:
    async def sandbox_create(ctx: ToolContext, hardware_flavor: str = "t4-small", namespace: str | None = None,
                             sleep_time: int = 1800, wait_s: int = 600, timeout: int | str = DEFAULT_LIFETIME,
                             trackio_project: str | None = None, trackio_space_id: str | None = None) -> str:
        """Start a private GPU sandbox (an HF Space you pay for while it is awake) to smoke-test code that needs
        CUDA before a long job: a few training steps, bf16/flash-attention, loading the model. Then run commands
        and files there with bash/read/write sandbox=true. CPU work and ordinary scripts run locally instead.
        Size it like a job: GPU memory about params x bytes/param (bf16 2; full fine-tuning with AdamW 16-18).

        Args:
            hardware_flavor: Space hardware, e.g. t4-small (16 GB), l4x1, a10g-small (24 GB), a100-large (80 GB).
            namespace: the user or one of their orgs (default: the user).
            sleep_time: seconds of inactivity before the Space sleeps (stops billing), 300-3600.
            wait_s: how long to wait for the Space to start.
            timeout: hard lifetime, seconds or '30m' / '2h' (max 12h): the Space is paused then. The budget
                reserves price per hour x lifetime.
            trackio_project: set as TRACKIO_PROJECT in the sandbox, for scripts with report_to="trackio".
            trackio_space_id: set as TRACKIO_SPACE_ID in the sandbox (the dashboard Space, "user/name").
        """
        token = config.resolved_hf_token()
        if not token:
            raise ToolError("sandbox_create needs an HF token (HF_TOKEN); without one, use bash locally")
        lifetime = _lifetime_s(timeout)
        share_token = ctx.may_send_hf_token()
        api = make_api(config.hf_endpoint, token)
        me = await call(api.whoami, what="the Hub (whoami)")
        allowed = [me["name"], *[o["name"] for o in me.get("orgs", [])]]
        owner = namespace or me["name"]
        if owner not in allowed:
            raise ToolError(f"namespace {owner!r} is not yours: use one of {', '.join(allowed)}")
        repo_id = f"{owner}/mlintern-sandbox-{secrets.token_hex(3)}"
        sandbox_token = secrets.token_urlsafe(24)
        server = resources.files("mlintern_jupyter.tools").joinpath("sandbox_server.py").read_bytes()
        tracking = trackio_env(ctx, trackio_project, trackio_space_id) if trackio_project or trackio_space_id else {}
        space_secrets = [{"key": "SANDBOX_TOKEN", "value": sandbox_token}]
        if share_token:
            # Deliberately: a person approved a card that says so, or opted in for the session.
            space_secrets.append({"key": "HF_TOKEN", "value": token})
        await call(api.create_repo, repo_id, repo_type="space", space_sdk="docker", private=True,
                   space_hardware=hardware_flavor, space_sleep_time=min(sleep_time, MAX_SLEEP_S),
                   space_secrets=space_secrets,
                   space_variables=[{"key": "SANDBOX_SHARE_HF", "value": "1" if share_token else "0"},
                                    *[{"key": k, "value": v} for k, v in tracking.items()]],
                   what="the Hub (create Space)")
        info = SandboxInfo(repo_id, space_url(repo_id), sandbox_token, hardware_flavor, call_id=ctx.call_id,
                           price_per_hour=price_per_hour(ctx.services.cost_estimator, ctx.action),
                           lifetime_s=lifetime)
        ctx.services.sandbox = info
        info.expiry = asyncio.get_running_loop().create_task(_expire(ctx, api, info))
        from huggingface_hub import CommitOperationAdd

        ops = [CommitOperationAdd("Dockerfile", DOCKERFILE.encode()), CommitOperationAdd("README.md", README.encode()),
               CommitOperationAdd("sandbox_server.py", server)]
        await call(api.create_commit, repo_id, ops, repo_type="space", commit_message="mlintern sandbox",
                   what="the Hub (upload sandbox)")
        deadline = time.monotonic() + max(1, wait_s)
        stage = ""
        while time.monotonic() < deadline:
            runtime = await call(api.get_space_runtime, repo_id, what="the Hub (Space runtime)")
            stage = str(runtime.stage)
            if stage == "RUNNING":
                break
            if stage in ("BUILD_ERROR", "RUNTIME_ERROR", "CONFIG_ERROR", "NO_APP_FILE"):
                raise ToolError(f"the sandbox Space {repo_id} failed to start ({stage}); see its logs on the Hub")
            ctx.output(f"sandbox {repo_id}: {stage}\n")
            await asyncio.sleep(2)
        state = "running" if stage == "RUNNING" else f"still {stage or 'starting'} after {wait_s}s"
        token_note = ("Commands there see your HF token as HF_TOKEN." if share_token else
                      "It has no HF token (commands there cannot write to the Hub).")
        return (f"Sandbox Space {repo_id} ({hardware_flavor}) is {state}: {info.url}. It bills while awake, sleeps "
                f"after {sleep_time}s idle and is paused after {lifetime}s at the latest. {token_note} Delete it "
                "with hf_repo_git operation='delete_repo' repo_type='space' when done.")

    # ml-intern names the flavour `hardware`.
    return Tool.from_function(sandbox_create, resolver=_check_sandbox_arguments, aliases={"hardware": "hardware_flavor"})
