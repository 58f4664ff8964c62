"""Retries of model calls: classified by exception type and HTTP status, never by the text of the message.

The retry wraps only the model request, so a call whose tool calls already ran is never replayed: tool
execution starts after `call_with_retries` has returned a complete response.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

T = TypeVar("T")

# 529 is Anthropic's "overloaded"; 408/504 are timeouts on the way. Everything else in 4xx is the caller's fault.
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504, 529})

# litellm class names, checked against the classes of the loaded litellm module (never against message text).
# Order matters: ContextWindowExceededError and ContentPolicyViolationError are BadRequestError subclasses.
_PERMANENT = ("ContextWindowExceededError", "ContentPolicyViolationError", "AuthenticationError",
              "PermissionDeniedError", "NotFoundError", "BadRequestError", "UnprocessableEntityError")
_TRANSIENT = ("RateLimitError", "Timeout", "APIConnectionError", "InternalServerError", "ServiceUnavailableError",
              "BadGatewayError")


@dataclass
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    # A provider asking for minutes is treated as "not now": we wait at most this long, then try once more.
    retry_after_cap: float = 60.0
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for retry number `attempt` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


def _litellm_class(name: str) -> type | None:
    litellm = sys.modules.get("litellm")  # only the adapter imports litellm; if it is not loaded, no litellm error
    cls = getattr(litellm, name, None) if litellm is not None else None
    return cls if isinstance(cls, type) else None


def _unwrap(exc: BaseException) -> BaseException:
    # litellm wraps errors raised inside a stream; the original carries the real type and headers.
    original = getattr(exc, "original_exception", None)
    return original if isinstance(original, BaseException) else exc


def status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    for value in (getattr(response, "status_code", None), getattr(exc, "status_code", None)):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def is_context_window_error(exc: BaseException) -> bool:
    cls = _litellm_class("ContextWindowExceededError")
    return cls is not None and isinstance(_unwrap(exc), cls)


def classify(exc: BaseException) -> str | None:
    """A short reason when the error is transient (worth retrying), None when it is not."""
    exc = _unwrap(exc)
    for name in _PERMANENT:
        cls = _litellm_class(name)
        if cls is not None and isinstance(exc, cls):
            return None
    for name in _TRANSIENT:
        cls = _litellm_class(name)
        if cls is not None and isinstance(exc, cls):
            status = status_of(exc)
            return f"{name}{f' {status}' if status else ''}"
    status = status_of(exc)
    if status is not None:
        return f"HTTP {status}" if status in TRANSIENT_STATUS else None
    if isinstance(exc, TimeoutError | ConnectionError):
        return type(exc).__name__
    return None


def _headers(exc: BaseException) -> dict[str, str]:
    found: dict[str, str] = {}
    sources = (getattr(getattr(exc, "response", None), "headers", None), getattr(exc, "headers", None),
               getattr(exc, "litellm_response_headers", None))
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
    headers = _headers(_unwrap(exc))
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


async def call_with_retries(fn: Callable[[], Awaitable[T]], on_retry: Callable[[str, float], None] | None = None,
                            policy: RetryPolicy | None = None) -> T:
    """Run `fn`, retrying transient failures. Cancelling the caller interrupts the wait between attempts."""
    policy = policy or RetryPolicy()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = classify(exc)
            if reason is None or attempt >= policy.max_attempts:
                raise
            asked = retry_after(exc)
            delay = min(asked, policy.retry_after_cap) if asked is not None else policy.backoff(attempt)
            if on_retry is not None:
                on_retry(f"{reason}, attempt {attempt} of {policy.max_attempts}", delay)
            await policy.sleep(delay)
