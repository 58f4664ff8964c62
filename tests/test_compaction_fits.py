"""Compaction that always fits: the summariser request is smaller than the one refused (in parts when needed),
reasoning models get room for the summary, and an empty summary is retried once with a larger allowance."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from mlintern_jupyter.agent import context
from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.models import resolve_model
from mlintern_jupyter.agent.retry import RetryPolicy
from mlintern_jupyter.tools.registry import tool
from tests.fakes.llm_common import Reply
from tests.fakes.openai_chat import FakeOpenAIChat

from .helpers import agent_script, is_summary_request, make_session


@tool(read_only=True)
async def note(text: str) -> str:
    """Record a short note.

    Args:
        text: the note
    """
    return f"noted: {text}"


def fast(session: Any) -> Any:
    async def sleep(_: float) -> None:
        await asyncio.sleep(0)

    session.services.retry_policy = RetryPolicy(sleep=sleep, rng=random.Random(0))
    return session


def test_an_overflow_of_many_small_messages_is_summarised_by_smaller_requests(fake_local) -> None:
    """The old compaction resent the whole history plus the tool schemas: bigger than the refused request."""
    steps = [Reply(text=f"step {i}", tool_calls=[("note", {"text": f"observation number {i} " * 6})])
             for i in range(60)]
    fake_local.responder = agent_script(*steps)
    session = fast(make_session(resolve_model("vllm/small", fake_local.url), [note], api_base=fake_local.url))
    fake_local.window = 6_000
    end = asyncio.run(session.run_turn("keep notes"))
    assert end.reason == "done", [e for e in session.events if isinstance(e, ev.Error)]
    bodies = [r.json() for r in fake_local.requests]
    sizes = [(is_summary_request(b), fake_local._prompt_tokens(b)) for b in bodies]
    refused = [s for (summary, s), r in zip(sizes, fake_local.requests, strict=True) if r.status == 400]
    summaries = [s for summary, s in sizes if summary]
    assert refused and summaries and max(summaries) < min(refused)
    assert all(s <= fake_local.window for s in summaries)
    assert [e.tokens for e in session.events if isinstance(e, ev.ContextWindowLearned)] == [6_000]
    assert len([e for e in session.events if isinstance(e, ev.Compacted)]) >= 1


def test_a_middle_larger_than_half_the_window_is_summarised_in_parts_then_merged(fake_local) -> None:
    session = make_session(resolve_model("vllm/small", fake_local.url), [note], api_base=fake_local.url)
    session.emit(ev.UserPrompt(text="keep notes"))
    for i in range(40):
        session.emit(ev.AssistantMessage(text="", tool_calls=[{"id": f"c{i}", "name": "note", "arguments": "{}"}]))
        session.emit(ev.ToolResult(call_id=f"c{i}", tool="note", ok=True, content=f"result {i}: " + "data " * 120))
    session.emit(ev.ContextWindowLearned(model=session.model.name, tokens=8_000))
    fake_local.responder = lambda body: Reply(text="SUMMARY part")
    event = asyncio.run(context.compact(session, "test", forced=True))
    summary_requests = [r.json() for r in fake_local.requests if is_summary_request(r.json())]
    assert len(summary_requests) >= 3  # at least two parts and the merge
    assert "Merge them into one summary" in summary_requests[-1]["messages"][-1]["content"]
    assert all(fake_local._prompt_tokens(b) <= 8_000 // 2 + 1_000 for b in summary_requests)
    assert event.tokens_after < event.tokens_before


def test_a_reasoning_model_gets_room_for_the_summary_and_an_empty_one_is_retried_larger(monkeypatch) -> None:
    """gpt-5 spent the 2,000-token allowance on reasoning and the empty summary ended the session."""
    with FakeOpenAIChat(flavour="openai") as fake:
        monkeypatch.setenv("OPENAI_API_KEY", fake.api_key or "")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        session = make_session(resolve_model("openai/gpt-5"), [note])
        session.emit(ev.UserPrompt(text="task"))
        for i in range(6):
            session.emit(ev.AssistantMessage(text=f"step {i}", tool_calls=[{"id": f"c{i}", "name": "note",
                                                                            "arguments": "{}"}]))
            session.emit(ev.ToolResult(call_id=f"c{i}", tool="note", ok=True, content="noted " * 50))
        fake.script(Reply(text="SUMMARY that never shows", reasoning_tokens=12_000),
                    Reply(text="SUMMARY: the task and its state", reasoning_tokens=12_000))
        event = asyncio.run(context.compact(session, "test", forced=True))
        first, second = (r.json() for r in fake.requests)
    assert first["max_completion_tokens"] == 10_000 and second["max_completion_tokens"] == 40_000
    assert first["reasoning_effort"] == second["reasoning_effort"] == "low"
    assert "tools" not in first and not fake.refusals.items
    assert event.summary == "SUMMARY: the task and its state"


def test_a_summary_empty_even_with_the_larger_allowance_fails_cleanly(fake_local) -> None:
    session = make_session(resolve_model("vllm/small", fake_local.url), [note], api_base=fake_local.url)
    session.emit(ev.UserPrompt(text="task"))
    for i in range(3):
        session.emit(ev.AssistantMessage(text=f"step {i}"))
        session.emit(ev.UserPrompt(text=f"more {i}"))
    fake_local.responder = lambda body: Reply(text="")
    try:
        asyncio.run(context.compact(session, "test", forced=True))
    except context.CompactionFailedError as exc:
        assert "empty summary twice" in str(exc)
    else:  # pragma: no cover - the assertion is the test
        raise AssertionError("an empty summary must fail compaction")
    assert len([r for r in fake_local.requests if is_summary_request(r.json())]) == 2
