"""Context: per-message token counts, capped tool outputs spilled to a readable file, compaction and its failure."""

from __future__ import annotations

import asyncio
from pathlib import Path

import litellm

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.context import plan_cut
from mlintern_jupyter.agent.messages import (
    AssistantMessage,
    SystemMessage,
    ToolCallPart,
    ToolResultMessage,
    UserMessage,
)
from mlintern_jupyter.agent.models import FunctionModel
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.tools.registry import ToolContext, ToolRegistry, tool


@tool(read_only=True)
async def fetch(n: int) -> str:
    """Return a long page of text.

    Args:
        n: page number
    """
    return "".join(f"line {n}.{i}: {'data ' * 8}\n" for i in range(n))


@tool(read_only=True)
async def read(path: str, ctx: ToolContext) -> str:
    """Read a file of the workspace.

    Args:
        path: relative path
    """
    return (ctx.workspace / path).read_text()


def loop_model(pages: list[int], window: int, summaries: list | None = None) -> FunctionModel:
    """Calls `fetch` for each page, then answers; answers compaction requests with a summary."""
    state = {"i": 0}

    def fn(messages, tools, settings):
        if settings.tool_choice == "none":
            if summaries is not None:
                summaries.append(list(messages))
            return "SUMMARY: task is to fetch pages; pages so far fetched; next fetch the rest."
        if state["i"] < len(pages):
            state["i"] += 1
            return {"tool_calls": [{"name": "fetch", "arguments": {"n": pages[state["i"] - 1]}}]}
        return "all done"

    model = FunctionModel(fn)
    model.context_window = window  # type: ignore[misc]
    return model


def test_tokens_are_counted_once_per_message_when_appended(tmp_path: Path) -> None:
    model = loop_model([5, 5], 200_000)
    session = Session(SessionConfig(), ToolRegistry([fetch]), model=model, home=tmp_path)
    asyncio.run(session.run_turn("fetch two pages"))
    t = session.transcript
    assert len(t.tokens) == len(t.messages)
    assert t.tokens == [model.count_tokens(m) for m in t.messages]


def test_long_outputs_are_capped_and_the_full_text_can_be_read_back(tmp_path: Path) -> None:
    calls = {"n": 0}

    def fn(messages, tools, settings):
        calls["n"] += 1
        if calls["n"] == 1:
            return {"tool_calls": [{"id": "big", "name": "fetch", "arguments": {"n": 3000}}]}
        if calls["n"] == 2:
            capped = messages[-1].content
            path = capped.split("saved as ")[1].split(" in the workspace")[0]
            return {"tool_calls": [{"id": "back", "name": "read", "arguments": {"path": path}}]}
        return "done"

    session = Session(SessionConfig(), ToolRegistry([fetch, read]), model=FunctionModel(fn), home=tmp_path)
    asyncio.run(session.run_turn("fetch"))
    results = {e.call_id: e for e in session.events if isinstance(e, ev.ToolResult)}
    big = results["big"].content
    assert len(big) < 30_000 and "line 3000.0" in big and "line 3000.2999" in big and "characters cut" in big
    assert "tool_outputs/big.txt" in big
    full = (session.workspace / "tool_outputs" / "big.txt").read_text()
    assert full.count("\n") == 3000
    assert results["back"].content.startswith("line 3000.0")  # the read tool found it; capped again, but readable


def test_compaction_keeps_head_and_whole_pairs_and_replays_on_resume(tmp_path: Path) -> None:
    summaries: list = []
    model = loop_model([60] * 24, 12_000, summaries)
    session = Session(SessionConfig(), ToolRegistry([fetch]), model=model, home=tmp_path)
    ended = asyncio.run(session.run_turn("fetch twelve pages"))
    assert ended.reason == "done"
    compactions = [e for e in session.events if isinstance(e, ev.Compacted)]
    assert compactions, "the context passed 90% of the window"
    first = compactions[0]
    assert first.start == 2 and first.end > first.start and first.tokens_after < first.tokens_before
    # The summariser was asked in text only, with the decision-focused prompt last.
    assert "Decisions" in summaries[0][-1].text
    messages = session.transcript.messages
    assert isinstance(messages[0], SystemMessage) and messages[1].text == "fetch twelve pages"  # type: ignore[union-attr]
    assert any(isinstance(m, UserMessage) and "SUMMARY" in m.text for m in messages)
    for i, m in enumerate(messages):  # every result directly follows its call
        if isinstance(m, ToolResultMessage):
            owner = next(x for x in reversed(messages[:i]) if isinstance(x, AssistantMessage))
            assert m.call_id in {c.id for c in owner.tool_calls}
    assert session.transcript.total_tokens < model.context_window * 0.9
    resumed = Session.resume(session.id, ToolRegistry([fetch]), home=tmp_path, model=loop_model([], 12_000))
    assert resumed.transcript.messages == messages


def test_compaction_happens_at_most_once_per_model_call(tmp_path: Path) -> None:
    model = loop_model([60] * 24, 12_000)
    session = Session(SessionConfig(), ToolRegistry([fetch]), model=model, home=tmp_path)
    asyncio.run(session.run_turn("fetch"))
    kinds = [e.kind for e in session.events if e.kind in ("compacted", "assistant_message")]
    assert "compacted,compacted" not in ",".join(kinds)


def test_compaction_failure_ends_the_session_with_an_explanation(tmp_path: Path) -> None:
    model = loop_model([5], 2_000)
    session = Session(SessionConfig(system_prompt="rules " * 2_000), ToolRegistry([fetch]), model=model, home=tmp_path)
    ended = asyncio.run(session.run_turn("go"))
    assert ended.reason == "error"
    error = next(e for e in session.events if isinstance(e, ev.Error))
    assert error.error_type == "compaction_failed" and error.hint
    assert isinstance(session.events[-1], ev.SessionEnded)
    assert model.calls == 0  # never sent a request the provider would refuse, never looped


def test_plan_cut_folds_an_oversized_first_prompt_into_the_summary() -> None:
    msgs = [SystemMessage("s"), UserMessage("huge prompt"), AssistantMessage("", (ToolCallPart("a", "t", "{}"),)),
            ToolResultMessage("a", "t", "r"), AssistantMessage("ok")]
    cut = plan_cut(msgs, [10, 9_000, 10, 10, 10], window=10_000, limit=9_000)
    assert cut.start == 1 and cut.end >= 2
    cut = plan_cut(msgs, [10, 100, 10, 3000, 10], window=10_000, limit=9_000)
    assert (cut.start, cut.end) == (2, 4)  # the call and its result go together; the newest answer stays


def test_a_provider_context_window_error_compacts_once_then_retries(tmp_path: Path) -> None:
    state = {"refusals": 1, "calls": 0}
    base = loop_model([5, 5, 5], 200_000)

    def fn(messages, tools, settings):
        state["calls"] += 1
        if settings.tool_choice != "none" and state["calls"] == 3 and state["refusals"]:
            state["refusals"] -= 1
            raise litellm.ContextWindowExceededError("prompt is too long", model="m", llm_provider="p")
        return base.fn(messages, tools, settings)

    session = Session(SessionConfig(), ToolRegistry([fetch]), model=FunctionModel(fn), home=tmp_path)
    assert asyncio.run(session.run_turn("go")).reason == "done"
    assert len([e for e in session.events if isinstance(e, ev.Compacted)]) == 1


def test_a_second_context_window_error_fails_cleanly(tmp_path: Path) -> None:
    base = loop_model([5, 5, 5], 200_000)
    state = {"calls": 0}

    def fn(messages, tools, settings):
        state["calls"] += 1
        if settings.tool_choice != "none" and state["calls"] >= 3:
            raise litellm.ContextWindowExceededError("prompt is too long", model="m", llm_provider="p")
        return base.fn(messages, tools, settings)

    session = Session(SessionConfig(), ToolRegistry([fetch]), model=FunctionModel(fn), home=tmp_path)
    ended = asyncio.run(session.run_turn("go"))
    assert ended.reason == "error" and state["calls"] == 5  # refused, summarised, refused again: stop
    assert next(e for e in session.events if isinstance(e, ev.Error)).error_type == "compaction_failed"
