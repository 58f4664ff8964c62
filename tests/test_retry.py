"""Retries: classified by HTTP status and error body, Retry-After honoured, rate limits waited out for tens of
seconds, bounded, cancellable."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import litellm
import pytest

from mlintern_jupyter.agent.retry import RetryPolicy, call_with_retries, classify, is_context_window_error, retry_after

REQ = httpx.Request("POST", "https://provider.invalid/v1")


def resp(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=REQ)


TRANSIENT = [
    litellm.RateLimitError("slow down", llm_provider="p", model="m", response=resp(429)),
    litellm.Timeout("timed out", model="m", llm_provider="p"),
    litellm.APIConnectionError("reset", llm_provider="p", model="m"),
    litellm.InternalServerError("boom", llm_provider="p", model="m", response=resp(500)),
    litellm.BadGatewayError("bad gateway", llm_provider="p", model="m"),
    litellm.ServiceUnavailableError("unavailable", llm_provider="p", model="m", response=resp(503)),
    litellm.APIError(529, "overloaded", llm_provider="p", model="m"),
]
PERMANENT = [
    litellm.AuthenticationError("bad key", llm_provider="p", model="m"),
    litellm.BadRequestError("bad request", model="m", llm_provider="p"),
    litellm.ContentPolicyViolationError("policy", model="m", llm_provider="p"),
    litellm.ContextWindowExceededError("too long", model="m", llm_provider="p"),
    litellm.NotFoundError("no such model", model="m", llm_provider="p"),
    litellm.APIError(418, "teapot", llm_provider="p", model="m"),
    ValueError("rate limit exceeded, please retry"),  # the words alone never make an error transient
]


@pytest.mark.parametrize("exc", TRANSIENT, ids=lambda e: type(e).__name__ + str(getattr(e, "status_code", "")))
def test_transient_errors_are_retried(exc: Exception) -> None:
    assert classify(exc) is not None


@pytest.mark.parametrize("exc", PERMANENT, ids=lambda e: type(e).__name__)
def test_permanent_errors_are_not_retried(exc: Exception) -> None:
    assert classify(exc) is None


def test_message_text_does_not_decide() -> None:
    # A bad request whose text talks about overload and 503 is still a bad request.
    exc = litellm.BadRequestError("503 overloaded, rate limit, timeout", model="m", llm_provider="p")
    assert classify(exc) is None


def test_errors_wrapped_mid_stream_are_classified_by_the_original() -> None:
    original = litellm.AuthenticationError("bad key", llm_provider="p", model="m")
    wrapped = litellm.exceptions.MidStreamFallbackError("stream broke", model="m", llm_provider="p", original_exception=original)
    assert classify(wrapped) is None
    ctx = litellm.ContextWindowExceededError("too long", model="m", llm_provider="p")
    assert is_context_window_error(litellm.exceptions.MidStreamFallbackError("x", model="m", llm_provider="p", original_exception=ctx))


def test_retry_after_seconds_and_http_date() -> None:
    assert retry_after(litellm.RateLimitError("x", llm_provider="p", model="m", response=resp(429, **{"retry-after": "7"}))) == 7
    now = datetime(2025, 1, 1, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=20), usegmt=True)
    exc = litellm.RateLimitError("x", llm_provider="p", model="m", response=resp(429, **{"Retry-After": date}))
    assert retry_after(exc, now=now) == pytest.approx(20)
    assert retry_after(litellm.RateLimitError("x", llm_provider="p", model="m", response=resp(429, **{"retry-after-ms": "1500"}))) == 1.5
    assert retry_after(litellm.RateLimitError("x", llm_provider="p", model="m", response=resp(429, **{"retry-after": "soon"}))) is None
    assert retry_after(litellm.RateLimitError("x", llm_provider="p", model="m", response=resp(429))) is None


class Flaky:
    def __init__(self, errors: list[Exception]) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(sleeps: list[float]) -> RetryPolicy:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return RetryPolicy(sleep=sleep, rng=random.Random(1))


def test_retry_after_is_honoured_and_capped() -> None:
    sleeps: list[float] = []
    notes: list[tuple[str, float, int, int]] = []
    fn = Flaky([
        litellm.RateLimitError("x", llm_provider="p", model="m", response=resp(429, **{"retry-after": "3"})),
        litellm.RateLimitError("x", llm_provider="p", model="m", response=resp(429, **{"retry-after": "3600"})),
    ])
    assert asyncio.run(call_with_retries(fn, lambda *note: notes.append(note), policy(sleeps))) == "ok"
    assert sleeps == [3.0, 120.0]
    assert fn.calls == 3 and notes[0][0] == "rate limit, HTTP 429" and notes[0][2:] == (1, 2)


def test_a_rate_limit_without_retry_after_waits_tens_of_seconds() -> None:
    """The reference waits 30 s then 60 s: a token bucket refills in about a minute (1-2-4 s gave up too soon)."""
    sleeps: list[float] = []
    fn = Flaky([litellm.RateLimitError("x", llm_provider="p", model="m", response=resp(429)) for _ in range(5)])
    with pytest.raises(litellm.RateLimitError):
        asyncio.run(call_with_retries(fn, None, policy(sleeps)))
    assert fn.calls == 3 and len(sleeps) == 2
    assert 27 <= sleeps[0] <= 33 and 54 <= sleeps[1] <= 66 and sum(sleeps) > 60


def test_server_errors_back_off_for_seconds_and_stop_after_three_retries() -> None:
    sleeps: list[float] = []
    fn = Flaky([litellm.InternalServerError("x", llm_provider="p", model="m", response=resp(500)) for _ in range(10)])
    with pytest.raises(litellm.InternalServerError):
        asyncio.run(call_with_retries(fn, None, policy(sleeps)))
    assert fn.calls == 4 and len(sleeps) == 3
    for delay, base in zip(sleeps, (5, 15, 30), strict=True):
        assert base * 0.9 <= delay <= base * 1.1


def test_billing_refusals_are_never_retried() -> None:
    sleeps: list[float] = []
    fn = Flaky([litellm.exceptions.PaymentRequiredError("credits exhausted", llm_provider="p", model="m")])
    with pytest.raises(litellm.exceptions.PaymentRequiredError):
        asyncio.run(call_with_retries(fn, None, policy(sleeps)))
    assert fn.calls == 1 and sleeps == []


def test_permanent_error_is_raised_at_once() -> None:
    sleeps: list[float] = []
    fn = Flaky([litellm.AuthenticationError("bad key", llm_provider="p", model="m")])
    with pytest.raises(litellm.AuthenticationError):
        asyncio.run(call_with_retries(fn, None, policy(sleeps)))
    assert fn.calls == 1 and sleeps == []


def test_cancel_interrupts_the_wait() -> None:
    fn = Flaky([litellm.RateLimitError("x", llm_provider="p", model="m", response=resp(429, **{"retry-after": "50"}))])

    async def main() -> float:
        task = asyncio.ensure_future(call_with_retries(fn, None, RetryPolicy()))
        await asyncio.sleep(0.05)
        started = asyncio.get_running_loop().time()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return asyncio.get_running_loop().time() - started

    assert asyncio.run(main()) < 1.0
    assert fn.calls == 1
