"""Retries of model calls, as long as providers need: classified by status and error body (`provider_errors`),
never by the prose of a message.

A rate limit without `Retry-After` waits 30 s, then 60 s (the reference's schedule: token buckets refill in about a
minute; the earlier 1-2-4 s backoff gave up after 5 s and failed the turn). Overload (529), 5xx, timeouts and a
server that does not answer wait 5, 15, 30 s. Billing refusals (402, exhausted credits or quota) are never
retried. The wait is a countdown the caller can show, and cancelling the caller interrupts it.

The retry wraps only the model request, so a call whose tool calls already ran is never replayed: tool
execution starts after `call_with_retries` has returned a complete response.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from .provider_errors import ProviderFailure, inspect

T = TypeVar("T")

# Called before each wait: (what failed, seconds to wait, retry number, retries allowed).
OnRetry = Callable[[str, float, int, int], Any]


@dataclass
class RetryPolicy:
    # Waits before retry 1, 2, 3 of an overloaded / failing / unreachable provider.
    delays: tuple[float, ...] = (5.0, 15.0, 30.0)
    # Waits before the retries of a rate limit that named no Retry-After.
    rate_limit_delays: tuple[float, ...] = (30.0, 60.0)
    # A server that does not answer at all (a local server not started) is retried once, soon: the person needs
    # the hint naming the command that starts it, not a minute of waiting.
    unreachable_delays: tuple[float, ...] = (2.0,)
    # A provider asking for longer is treated as "not now": we wait at most this long, then try once more.
    retry_after_cap: float = 120.0
    jitter: float = 0.1
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, failure: ProviderFailure, retry: int, asked: float | None) -> float | None:
        """Seconds before retry number `retry` (1-based), or None when no retry is left."""
        schedule = self.schedule(failure)
        if retry > len(schedule):
            return None
        if asked is not None:
            return min(asked, self.retry_after_cap)
        base = schedule[retry - 1]
        return base * (1 + self.rng.uniform(-self.jitter, self.jitter))

    def schedule(self, failure: ProviderFailure) -> tuple[float, ...]:
        return {"rate_limit": self.rate_limit_delays, "unreachable": self.unreachable_delays}.get(
            failure.kind, self.delays)

    def retries_for(self, failure: ProviderFailure) -> int:
        return len(self.schedule(failure))


def classify(exc: BaseException) -> str | None:
    """A short reason when the error is transient (worth retrying), None when it is not."""
    failure = inspect(exc)
    if not failure.transient:
        return None
    return failure.kind.replace("_", " ") + (f" (HTTP {failure.status})" if failure.status else "")


def is_context_window_error(exc: BaseException) -> bool:
    return inspect(exc).kind == "context_overflow"


def _headers(exc: BaseException) -> dict[str, str]:
    from .provider_errors import _chain

    found: dict[str, str] = {}
    for item in _chain(exc):
        sources = (getattr(getattr(item, "response", None), "headers", None), getattr(item, "headers", None),
                   getattr(item, "litellm_response_headers", None))
        for source in sources:
            if source is None:
                continue
            try:
                items = source.items()
            except Exception:  # noqa: BLE001 - a header source we cannot read is no header
                continue
            for key, value in items:
                found.setdefault(str(key).lower(), str(value))
    return found


def retry_after(exc: BaseException, now: datetime | None = None) -> float | None:
    """Seconds the provider asked us to wait (`Retry-After` as seconds or HTTP date, or `retry-after-ms`)."""
    headers = _headers(exc)
    if "retry-after-ms" in headers:
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def call_with_retries(fn: Callable[[], Awaitable[T]], on_retry: OnRetry | None = None,
                            policy: RetryPolicy | None = None,
                            wait: Callable[[float], Awaitable[Any]] | None = None) -> T:
    """Run `fn`, retrying transient failures. `wait` (default `policy.sleep`) may show a countdown; cancelling the
    caller interrupts it."""
    policy = policy or RetryPolicy()
    retry = 0
    while True:
        try:
            return await fn()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failure = inspect(exc)
            if not failure.transient:
                raise
            retry += 1
            delay = policy.delay(failure, retry, retry_after(exc))
            if delay is None:
                raise
            if on_retry is not None:
                reason = failure.kind.replace("_", " ") + (f", HTTP {failure.status}" if failure.status else "")
                on_retry(reason, delay, retry, policy.retries_for(failure))
            await (wait or policy.sleep)(delay)
