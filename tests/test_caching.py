"""Prompt caching: Anthropic breakpoints however routed, OpenAI prompt_cache_key only to OpenAI, the router's session
header only to the router, others unchanged."""

from __future__ import annotations

import copy
import json

import pytest
from litellm.llms.anthropic.chat.transformation import AnthropicConfig

from mlintern_jupyter.agent.caching import MAX_BREAKPOINTS, apply_prompt_caching

TOOLS = [
    {"type": "function", "function": {"name": n, "description": n, "parameters": {"type": "object", "properties": {}}}}
    for n in ("read", "bash", "hf_jobs")
]


def loop_messages(iterations: int) -> list[dict]:
    msgs: list[dict] = [{"role": "system", "content": "You are an ML engineer."}, {"role": "user", "content": "train it"}]
    for i in range(iterations):
        msgs.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": "read", "arguments": "{}"}}]})
        msgs.append({"role": "tool", "tool_call_id": f"c{i}", "name": "read", "content": f"output {i}"})
    return msgs


def marked(messages: list[dict], tools: list[dict]) -> list[str]:
    where = [f"tool:{t['function']['name']}" for t in tools if "cache_control" in t]
    for i, m in enumerate(messages):
        if isinstance(m.get("content"), list) and any("cache_control" in b for b in m["content"]):
            where.append(f"{i}:{m['role']}")
    return where


ANTHROPIC_ROUTES = [("anthropic", "anthropic/claude-sonnet-4-5"), ("anthropic", "claude-3-5-haiku-20241022"),
                    ("litellm", "bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0"),
                    ("litellm", "vertex_ai/claude-sonnet-4@20250514"),
                    ("hf_router", "openai/anthropic/claude-opus-4.8:fal-ai")]


@pytest.mark.parametrize(("kind", "model"), ANTHROPIC_ROUTES)
def test_anthropic_gets_tools_system_and_rolling_breakpoints(kind: str, model: str) -> None:
    msgs = loop_messages(3)
    original = copy.deepcopy(msgs)
    out, tools, extra = apply_prompt_caching(kind, model, msgs, TOOLS, "session-1")
    assert msgs == original, "the caller's messages are not mutated"
    if kind == "hf_router":  # the router also needs the top-level hint, and gets its session header
        assert extra == {"extra_headers": {"X-HF-Session-id": "session-1"},
                         "extra_body": {"cache_control": {"type": "ephemeral"}}}
    else:
        assert extra == {}
    # tools, system, the newest message (written now) and the previous request's newest (read now)
    assert marked(out, tools) == ["tool:hf_jobs", "0:system", f"{len(out) - 3}:tool", f"{len(out) - 1}:tool"]
    assert len(marked(out, tools)) <= MAX_BREAKPOINTS


def test_the_previous_breakpoint_is_where_the_last_request_wrote() -> None:
    """Request n reads what request n-1 wrote: its newest message is marked again at the same index."""
    first, _, _ = apply_prompt_caching("anthropic", "anthropic/claude-sonnet-4-5", loop_messages(2), TOOLS, "s")
    second, _, _ = apply_prompt_caching("anthropic", "anthropic/claude-sonnet-4-5", loop_messages(3), TOOLS, "s")
    newest_then = len(first) - 1
    assert first[newest_then] == second[newest_then]  # same bytes, same breakpoint: a cache hit


def test_first_request_and_user_message_tail() -> None:
    msgs = [{"role": "system", "content": "sys"}, {"role": "user", "content": "hello"}]
    out, tools, _ = apply_prompt_caching("anthropic", "anthropic/claude-sonnet-4-5", msgs, [], None)
    assert marked(out, tools) == ["0:system", "1:user"]


def test_anthropic_request_stays_valid_for_the_provider() -> None:
    out, tools, _ = apply_prompt_caching("anthropic", "anthropic/claude-sonnet-4-5", loop_messages(4), TOOLS, "s")
    body = AnthropicConfig().transform_request("claude-sonnet-4-5", out, {"tools": tools}, {}, {})
    assert json.dumps(body).count('"cache_control"') == 4


def test_openai_itself_gets_a_stable_prompt_cache_key() -> None:
    for model in ("openai/gpt-4o", "openai/gpt-4.1-mini", "openai/o3-mini"):
        msgs = loop_messages(2)
        out, tools, extra = apply_prompt_caching("openai", model, msgs, TOOLS, "session-1")
        assert extra == {"prompt_cache_key": "session-1"}
        assert out == msgs and tools == TOOLS


def test_the_router_gets_its_session_header_and_no_prompt_cache_key() -> None:
    msgs = loop_messages(2)
    out, tools, extra = apply_prompt_caching("hf_router", "openai/moonshotai/Kimi-K2.6:novita", msgs, TOOLS, "s" * 300)
    assert extra == {"extra_headers": {"X-HF-Session-id": "s" * 256}}
    assert out == msgs and tools == TOOLS


def test_other_openai_compatible_servers_are_unchanged() -> None:
    # A vLLM or llama.cpp server behind an openai/ model id gets no prompt_cache_key (OpenAI's own parameter).
    for kind, model in (("local", "openai/llama3.1"), ("local", "openai/Qwen/Qwen2.5-7B"), ("litellm", "gemini/x")):
        msgs = loop_messages(2)
        assert apply_prompt_caching(kind, model, msgs, TOOLS, "s") == (msgs, TOOLS, {})
