"""Prompt-cache breakpoints per provider (filled in by the guards work; identity until then)."""

from __future__ import annotations

from typing import Any


def apply_prompt_caching(
    model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]], session_key: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    return messages, tools, {}
