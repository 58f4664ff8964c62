"""Fault injection through a fake litellm provider and the real LiteLLMModel adapter.

A `litellm.CustomLLM` registered in `litellm.custom_provider_map` raises litellm's typed errors (with headers)
at three points: the first model call, the call after a tool result, and the compaction call. Every run must
end in a defined state with one result per tool call, no duplicated message and a valid event log.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path

import httpx
import litellm
import pytest
from litellm import CustomLLM
from litellm.types.utils import GenericStreamingChunk

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.context import SUMMARISER_SYSTEM
from mlintern_jupyter.agent.messages import AssistantMessage, ToolResultMessage
from mlintern_jupyter.agent.models.litellm_model import LiteLLMModel
from mlintern_jupyter.agent.retry import RetryPolicy
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.agent.store import read_events
from mlintern_jupyter.agent.tooling import SessionServices
from mlintern_jupyter.tools.registry import ToolRegistry, tool

REQ = httpx.Request("POST", "https://faulty.invalid/v1/chat")


def _resp(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=REQ)


FAULTS: dict[str, Callable[[], Exception]] = {
    "rate_limit_retry_after": lambda: litellm.RateLimitError("slow down", llm_provider="faulty", model="m",
                                                             response=_resp(429, **{"retry-after": "0.01"})),
    "rate_limit_http_date": lambda: litellm.RateLimitError("slow down", llm_provider="faulty", model="m",
                                                           response=_resp(429, **{"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})),
    "timeout": lambda: litellm.Timeout("read timed out", model="m", llm_provider="faulty"),
    "connection": lambda: litellm.APIConnectionError("connection reset", llm_provider="faulty", model="m"),
    "internal_500": lambda: litellm.InternalServerError("boom", llm_provider="faulty", model="m", response=_resp(500)),
    "bad_gateway_502": lambda: litellm.BadGatewayError("bad gateway", llm_provider="faulty", model="m"),
    "unavailable_503": lambda: litellm.ServiceUnavailableError("unavailable", llm_provider="faulty", model="m",
                                                               response=_resp(503, **{"retry-after": "0"})),
    "overloaded_529": lambda: litellm.APIError(529, "overloaded", llm_provider="faulty", model="m"),
    "auth_401": lambda: litellm.AuthenticationError("invalid x-api-key", llm_provider="faulty", model="m"),
    "bad_request_400": lambda: litellm.BadRequestError("messages: bad shape", model="m", llm_provider="faulty"),
    "content_policy": lambda: litellm.ContentPolicyViolationError("refused", model="m", llm_provider="faulty"),
    "context_window": lambda: litellm.ContextWindowExceededError("prompt is too long", model="m", llm_provider="faulty"),
    "not_found_404": lambda: litellm.NotFoundError("no such model", model="m", llm_provider="faulty"),
}
POINTS = ["first_call", "after_tool_result", "during_compaction"]
# How many times in a row the fault fires: once (recoverable by a retry) or always.
PERSISTENCE = {"once": 1, "always": 10**6}


class FaultyProvider(CustomLLM):
    """Streams scripted tool calls; raises the fault at the chosen point."""

    def __init__(self, point: str, fault: Callable[[], Exception], times: int) -> None:
        super().__init__()
        self.point, self.fault, self.times = point, fault, times
        self.calls = 0
        self.turns = 0  # answered agent calls (the transcript shrinks on compaction, this does not)
        self.big = point == "during_compaction"

    def _at_fault_point(self, messages: list, summarising: bool) -> bool:
        if self.times <= 0:
            return False
        if self.point == "first_call":
            return True
        if self.point == "after_tool_result":
            return not summarising and messages[-1].get("role") == "tool"
        return summarising

    def astreaming(self, model, messages, *args, **kwargs):  # type: ignore[no-untyped-def]
        summarising = messages[0].get("content") == SUMMARISER_SYSTEM
        self.calls += 1
        if self._at_fault_point(messages, summarising):
            self.times -= 1
            raise self.fault()
        return self._stream(messages, summarising)

    async def _stream(self, messages: list, summarising: bool):  # type: ignore[no-untyped-def]
        usage = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
        if summarising:
            yield GenericStreamingChunk(text="Summary: fetched pages; continue.", tool_use=None, is_finished=True,
                                        finish_reason="stop", usage=usage, index=0)
            return
        self.turns += 1
        if self.turns <= (14 if self.big else 2):
            call = {"id": f"call_{self.calls}", "type": "function", "index": 0,
                    "function": {"name": "fetch", "arguments": f'{{"n": {200 if self.big else 3}}}'}}
            yield GenericStreamingChunk(text="", tool_use=call, is_finished=False, finish_reason="", usage=None, index=0)
            yield GenericStreamingChunk(text="", tool_use=None, is_finished=True, finish_reason="tool_calls", usage=usage, index=0)
            return
        yield GenericStreamingChunk(text="All done.", tool_use=None, is_finished=True, finish_reason="stop", usage=usage, index=0)


@tool(read_only=True)
async def fetch(n: int) -> str:
    """Fetch a page.

    Args:
        n: lines
    """
    return "".join(f"row {i}: {'value ' * 10}\n" for i in range(n))


@pytest.fixture
def faulty_model(monkeypatch: pytest.MonkeyPatch):
    def make(provider: FaultyProvider) -> LiteLLMModel:
        monkeypatch.setattr(litellm, "custom_provider_map", [{"provider": "faulty", "custom_handler": provider}])
        monkeypatch.setattr(litellm, "_custom_providers", ["faulty"], raising=False)
        model = LiteLLMModel("faulty/agent-model")
        if provider.big:
            # A small window so the transcript passes 90% and compaction runs.
            monkeypatch.setattr(LiteLLMModel, "context_window", property(lambda self: 12_000))
        return model

    return make


async def _fast_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


def check_invariants(session: Session, ended: ev.TurnEnded) -> None:
    assert ended.reason in ("done", "error")
    log = read_events(session.dir / "events.jsonl")
    assert not log.bad_lines and log.torn_tail is None
    assert [e.seq for e in log.events] == sorted({e.seq for e in log.events})
    assert [e.to_dict() for e in log.events] == [e.to_dict() for e in session.events]
    calls = [c.id for m in session.transcript.messages if isinstance(m, AssistantMessage) for c in m.tool_calls]
    results = [m.call_id for m in session.transcript.messages if isinstance(m, ToolResultMessage)]
    assert sorted(calls) == sorted(results) and len(set(results)) == len(results)
    result_events = [e.call_id for e in session.events if isinstance(e, ev.ToolResult)]
    assert len(result_events) == len(set(result_events))
    assistant_events = [e for e in session.events if isinstance(e, ev.AssistantMessage)]
    ids = [c["id"] for e in assistant_events for c in e.tool_calls]
    assert len(ids) == len(set(ids)), "a model call was replayed after its tool calls ran"
    assert session.transcript.open_tool_calls() == []
    assert [e.kind for e in session.events].count("turn_ended") == 1


@pytest.mark.parametrize("persistence", list(PERSISTENCE))
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_fault_ends_in_a_defined_state(fault: str, point: str, persistence: str, faulty_model, tmp_path: Path) -> None:
    provider = FaultyProvider(point, FAULTS[fault], PERSISTENCE[persistence])
    model = faulty_model(provider)
    session = Session(SessionConfig(), ToolRegistry([fetch]), model=model, home=tmp_path,
                      services=SessionServices(retry_policy=RetryPolicy(sleep=_fast_sleep, rng=random.Random(0))))
    ended = asyncio.run(session.run_turn("fetch the pages"))
    check_invariants(session, ended)
    if point == "during_compaction":
        assert provider.times < PERSISTENCE[persistence], "the fault point was reached"
    transient = fault not in ("auth_401", "bad_request_400", "content_policy", "context_window", "not_found_404")
    if transient and persistence == "once":
        assert ended.reason == "done", [e for e in session.events if isinstance(e, ev.Error)]
    if not transient or persistence == "always":
        if not (fault == "context_window" and persistence == "once" and point != "during_compaction"):
            assert ended.reason == "error"
        errors = [e for e in session.events if isinstance(e, ev.Error)]
        if ended.reason == "error":
            assert errors and errors[-1].message
