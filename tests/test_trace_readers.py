"""Traces as a third-party reader sees them: claude-code-log (PyPI) loads the trace of a generated session, and the
totals it reports equal the session's own usage to the token; it titles the session with the person's prompt and
shows the notebook's directory as the project."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from claude_code_log.converter import compute_session_data, load_transcript
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlintern_jupyter.agent.models import ScriptedModel
from mlintern_jupyter.agent.models.base import ModelResponse, ModelUsage, tool_call
from mlintern_jupyter.agent.redact import Redactor
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.agent.trace import write_trace
from mlintern_jupyter.tools.registry import ToolRegistry, tool
from mlintern_jupyter.tools.research import make_research


@st.composite
def usages(draw: st.DrawFn) -> ModelUsage:
    read = draw(st.integers(0, 50_000))
    write = draw(st.integers(0, 20_000))
    fresh = draw(st.integers(1, 20_000))
    return ModelUsage(prompt_tokens=read + write + fresh, completion_tokens=draw(st.integers(0, 4_000)),
                      cache_read_tokens=read, cache_write_tokens=write, cost_usd=0.001)


def generated_session(home: Path, calls: list[ModelUsage]) -> Session:
    """Two turns: a tool call, a research sub-agent (its own model calls), a compaction, and answers."""

    @tool(read_only=True)
    async def lookup(query: str) -> str:
        """Look something up."""
        return f"found {query}"

    registry = ToolRegistry([lookup])
    registry.register(make_research(lambda: registry))
    shapes = [("Let me look.", [tool_call("lookup", {"query": "imdb"}, "c1")]),
              ("Asking a sub-agent.", [tool_call("research", {"task": "best lr for distilbert"}, "c2")]),
              ("sub-agent: looking", [tool_call("lookup", {"query": "lr"}, "k1")]),
              ("## Recipe table\n| lr | 2e-5 |\n## Open questions\nnone", []),  # the structure research asks for
              ("Done: lr 2e-5.", []),
              ("Summary: the person fine-tunes distilbert on imdb with lr 2e-5.", []),  # the compaction call
              ("Nothing else to do.", [])]
    script = [ModelResponse(text=text, tool_calls=tuple(c), usage=usage)
              for (text, c), usage in zip(shapes, calls, strict=True)]
    session = Session(SessionConfig(model="scripted", approve_mode="auto", cwd=str(home / "notebooks")), registry,
                      model=ScriptedModel(script, name="scripted:readers"), home=home, redactor=Redactor())
    asyncio.run(session.run_turn("fine-tune distilbert on imdb", kernel_digest="In [1]: import torch"))
    asyncio.run(session.compact())
    asyncio.run(session.run_turn("anything else?"))
    return session


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(usages(), min_size=7, max_size=7))
def test_claude_code_log_totals_equal_the_session_usage(calls: list[ModelUsage]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        session = generated_session(home, calls)
        path = home / "projects" / "notebooks" / f"{session.id}.jsonl"
        write_trace(session.events, path, session.redactor, session_id=session.id)
        data = compute_session_data(load_transcript(path, silent=True))
        session.close()

    (reported,) = data.values()
    usage = session.usage
    assert reported.session_id == session.id
    assert reported.total_cache_read_tokens == usage.cache_read_tokens
    assert reported.total_cache_creation_tokens == usage.cache_write_tokens
    assert (reported.total_input_tokens + reported.total_cache_read_tokens
            + reported.total_cache_creation_tokens) == usage.prompt_tokens
    assert reported.total_output_tokens == usage.completion_tokens
    assert usage.prompt_tokens == sum(c.prompt_tokens for c in calls)  # every call counted once, none twice
    assert reported.first_user_message.startswith("fine-tune distilbert on imdb")
    assert reported.cwd == str(home / "notebooks")
