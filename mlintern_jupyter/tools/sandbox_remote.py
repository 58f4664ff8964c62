"""sandbox_create: a GPU sandbox on a private HF Space running the package's `sandbox_server.py`.

The Space gets a random SANDBOX_TOKEN secret (the server refuses requests without it) and not the HF token:
the server does not need it, and `bash sandbox=true` must not be able to read it (code there runs what the model
wrote, under any approval mode). The tool waits until the Space runs, then keeps the sandbox's URL
and token in the session's services (`services.sandbox`) for `SandboxClient`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import httpx

from .config import ToolsConfig
from .jobs.hf import call, make_api
from .registry import Tool, ToolContext, ToolError

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
                             sleep_time: int = 3600, wait_s: int = 600) -> str:
        """Start a private GPU sandbox (an HF Space running a small command server) for code that needs a GPU.

        Args:
            hardware_flavor: Space hardware, e.g. t4-small, l4x1, a10g-small, a100-large.
            namespace: the user or one of their orgs (default: the user).
            sleep_time: seconds of inactivity before the Space sleeps (stops billing).
            wait_s: how long to wait for the Space to start.
        """
        token = config.resolved_hf_token()
        if not token:
            raise ToolError("sandbox_create needs an HF token (HF_TOKEN); without one, use bash locally")
        api = make_api(config.hf_endpoint, token)
        me = await call(api.whoami, what="the Hub (whoami)")
        allowed = [me["name"], *[o["name"] for o in me.get("orgs", [])]]
        owner = namespace or me["name"]
        if owner not in allowed:
            raise ToolError(f"namespace {owner!r} is not yours: use one of {', '.join(allowed)}")
        repo_id = f"{owner}/mlintern-sandbox-{secrets.token_hex(3)}"
        sandbox_token = secrets.token_urlsafe(24)
        server = resources.files("mlintern_jupyter.tools").joinpath("sandbox_server.py").read_bytes()
        await call(api.create_repo, repo_id, repo_type="space", space_sdk="docker", private=True,
                   space_hardware=hardware_flavor, space_sleep_time=sleep_time,
                   space_secrets=[{"key": "SANDBOX_TOKEN", "value": sandbox_token}],
                   what="the Hub (create Space)")
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
        info = SandboxInfo(repo_id, space_url(repo_id), sandbox_token, hardware_flavor)
        ctx.services.sandbox = info
        state = "running" if stage == "RUNNING" else f"still {stage or 'starting'} after {wait_s}s"
        return (f"Sandbox Space {repo_id} ({hardware_flavor}) is {state}: {info.url}. It bills while awake and "
                f"sleeps after {sleep_time}s idle; delete it with hf_repo_git operation='delete_repo' repo_type='space' when done.")

    return Tool.from_function(sandbox_create)
