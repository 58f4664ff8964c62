"""Retries of model calls (the guards work replaces this with typed classification and backoff)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def call_with_retries(fn: Callable[[], Awaitable[T]], on_retry: Callable[[str, float], None] | None = None) -> T:
    return await fn()
