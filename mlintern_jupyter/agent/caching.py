"""Prompt-cache breakpoints per provider.

Anthropic models (however routed: anthropic/, bedrock, vertex_ai, the HF router's fal provider) cache a prompt prefix up to
each `cache_control` breakpoint, at most 4 per request. We mark the tools, the system prompt, and two rolling
points: the newest message (written now) and the newest message of the previous request (read now). The
reference marked only the system prompt and the last *user* message, which in a 40-call tool loop never moves,
so every tool output after it was billed in full on every call. OpenAI caches automatically; a stable
`prompt_cache_key` per session keeps requests of one session on the same cache (sent to OpenAI only: other
OpenAI-compatible servers do not take it). The HF router gets its session header instead.
"""

from __future__ import annotations

import copy
from typing import Any

MAX_BREAKPOINTS = 4
# The router keeps one session's requests on the same provider replica (and its cache).
HF_ROUTER_SESSION_HEADER = "X-HF-Session-id"
EPHEMERAL = {"type": "ephemeral"}


def is_anthropic(model: str) -> bool:
    name = model.lower()
    return name.startswith("anthropic/") or "claude" in name or "/anthropic." in name or ".anthropic." in name


def _mark(message: dict[str, Any]) -> bool:
    """Put a breakpoint on the last text block of a message; False if it has no text to mark."""
    content = message.get("content")
    if isinstance(content, str):
        if not content:
            return False
        message["content"] = [{"type": "text", "text": content, "cache_control": dict(EPHEMERAL)}]
        return True
    if isinstance(content, list):
        for block in reversed(content):
            if isinstance(block, dict) and block.get("type") == "text" and block.get("text"):
                block["cache_control"] = dict(EPHEMERAL)
                return True
    return False


def rolling_points(messages: list[dict[str, Any]]) -> list[int]:
    """Indices of the newest message and of the newest message of the previous request.

    The previous request ended just before the last assistant message (the model's answer to it), so that
    index is stable between consecutive calls: the prefix written there last time is read this time.
    """
    points: list[int] = []
    last = len(messages) - 1
    if last >= 0 and messages[last].get("role") != "assistant":
        points.append(last)
    last_assistant = next((i for i in range(last, -1, -1) if messages[i].get("role") == "assistant"), None)
    if last_assistant is not None:
        previous = next((i for i in range(last_assistant - 1, -1, -1) if messages[i].get("role") != "assistant"), None)
        if previous is not None and messages[previous].get("role") != "system" and previous not in points:
            points.append(previous)
    return points


def _breakpoints(messages: list[dict[str, Any]], tools: list[dict[str, Any]]
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    messages, tools = copy.deepcopy(messages), copy.deepcopy(tools)
    used = 0
    if tools:
        tools[-1]["cache_control"] = dict(EPHEMERAL)
        used += 1
    system = next((m for m in messages if m.get("role") == "system"), None)
    if system is not None and _mark(system):
        used += 1
    for index in rolling_points(messages):
        if used >= MAX_BREAKPOINTS:
            break
        if _mark(messages[index]):
            used += 1
    return messages, tools


def router_uses_cache_control(router_model: str) -> bool:
    """Claude on the HF router (fal): explicit breakpoints plus a top-level hint, as ml-intern found necessary."""
    return router_model.startswith("anthropic/") and ":fal" in router_model


def apply_prompt_caching(
    route_kind: str, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]], session_key: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Wire messages and tools with cache hints for the route, plus extra completion kwargs. Inputs are not mutated.

    Each hint goes only where the endpoint takes it: breakpoints to Anthropic (and Claude through the router's
    fal provider), `prompt_cache_key` to OpenAI itself, the `X-HF-Session-id` header to the HF router. An
    OpenAI-compatible server that is not OpenAI (a vLLM, the router) gets no `prompt_cache_key`.
    """
    if route_kind == "anthropic" or (route_kind == "litellm" and is_anthropic(model)):
        messages, tools = _breakpoints(messages, tools)
        return messages, tools, {}
    if route_kind == "hf_router":
        kwargs: dict[str, Any] = {}
        if session_key:
            kwargs["extra_headers"] = {HF_ROUTER_SESSION_HEADER: session_key[:256]}
        router_model = model.removeprefix("openai/")
        if router_uses_cache_control(router_model):
            messages, tools = _breakpoints(messages, tools)
            kwargs["extra_body"] = {"cache_control": dict(EPHEMERAL)}
        return messages, tools, kwargs
    if route_kind == "openai" and session_key:
        return messages, tools, {"prompt_cache_key": session_key}
    return messages, tools, {}
