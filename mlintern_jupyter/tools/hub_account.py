"""Who the Hugging Face token belongs to and which job hardware it can rent: inputs of the SESSION CONTEXT.

Fetched once per token and endpoint (whoami and `list_jobs_hardware` in parallel, within a deadline) and cached
on the object that owns this, so a kernel pays for it once, not per session. A Hub that does not answer costs
at most the deadline and yields "account unknown" plus the built-in price table, never an error.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from ..agent.session_context import HardwareOption
from .config import ToolsConfig
from .jobs.hardware import PRICES_PER_HOUR, hardware_rows

# The first %%intern of a kernel waits at most this long for a Hub that does not answer.
DEADLINE_S = 3.0


@dataclass(frozen=True)
class AccountFacts:
    has_token: bool
    user: str | None = None
    orgs: tuple[str, ...] = ()
    hardware: tuple[HardwareOption, ...] = ()
    hardware_source: Literal["live", "built-in table"] = "built-in table"


def _options(live: list[Any] | None) -> tuple[HardwareOption, ...]:
    """From `JobHardwareInfo` objects (prices per hour as the job tool computes them), else the built-in table."""
    if not live:
        return tuple(HardwareOption(name, price) for name, price in PRICES_PER_HOUR.items())
    options = []
    for info, row in zip(live, hardware_rows(live), strict=True):
        accelerator = getattr(info, "accelerator", None)
        try:
            gpus = int(getattr(accelerator, "quantity", 1) or 1)
        except (TypeError, ValueError):
            gpus = 1
        options.append(HardwareOption(
            row["name"], row["price_per_hour"], gpu=str(getattr(accelerator, "model", "") or "") or None,
            gpus=gpus, gpu_memory=str(getattr(accelerator, "vram", "") or ""), cpu=str(row.get("cpu") or ""),
            ram=str(row.get("ram") or "")))
    return tuple(options)


class HubAccount:
    """Account and hardware facts per (endpoint, token), cached for the owner's lifetime."""

    def __init__(self, deadline_s: float = DEADLINE_S) -> None:
        self.deadline_s = deadline_s
        self._cache: dict[str, AccountFacts] = {}

    def facts(self, config: ToolsConfig) -> AccountFacts:
        token = config.resolved_hf_token()
        if not token:
            return AccountFacts(has_token=False)
        key = hashlib.sha256(f"{config.hf_endpoint}\n{token}".encode()).hexdigest()
        if key not in self._cache:
            facts = self._fetch(config.hf_endpoint, token)
            if facts.user is None or facts.hardware_source != "live":
                return facts  # a failed fetch is retried by the next session
            self._cache[key] = facts
        return self._cache[key]

    def _fetch(self, endpoint: str, token: str) -> AccountFacts:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=endpoint, token=token)
        # Not a `with` block: leaving it would wait for a Hub that hangs; the deadline is the point.
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="mlintern-hub-account")
        whoami, hardware = pool.submit(api.whoami), pool.submit(api.list_jobs_hardware)
        pool.shutdown(wait=False)
        concurrent.futures.wait([whoami, hardware], timeout=self.deadline_s)
        me = _result(whoami)
        live = _result(hardware)
        user = me.get("name") if isinstance(me, dict) and isinstance(me.get("name"), str) else None
        orgs = tuple(o["name"] for o in (me or {}).get("orgs") or () if isinstance(o, dict)
                     and isinstance(o.get("name"), str)) if user else ()
        return AccountFacts(has_token=True, user=user, orgs=orgs, hardware=_options(live),
                            hardware_source="live" if live else "built-in table")


def _result(future: concurrent.futures.Future[Any]) -> Any:
    if not future.done():
        return None
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - any failure means "not known": the context says so
        return None
