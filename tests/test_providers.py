"""Whole sessions against the wire fakes: every route, what each service refuses, and the bad input the issue lists
(unknown model, no key, a server that is down, an effort a model refuses, a base URL that is no model server)."""

from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

import pytest

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.models import resolve_model
from mlintern_jupyter.agent.retry import RetryPolicy
from mlintern_jupyter.agent.session import Session
from mlintern_jupyter.control.model_choice import choose_model
from mlintern_jupyter.tools.registry import Tool, ToolRegistry, tool
from tests.fakes.llm_common import Reply
from tests.fakes.openai_chat import FakeOpenAIChat

from .helpers import agent_script, make_session


@tool(read_only=True)
async def fetch(n: int) -> str:
    """Fetch n rows of data.

    Args:
        n: how many rows
    """
    return "".join(f"row {i}: value\n" for i in range(n))


def fast_policy() -> RetryPolicy:
    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    return RetryPolicy(sleep=sleep, rng=random.Random(0))


def session_for(name: str, tools: list[Tool] | ToolRegistry = (fetch,), api_base: str | None = None,
                **config: Any) -> Session:
    session = make_session(resolve_model(name, api_base), list(tools) if not isinstance(tools, ToolRegistry) else tools,
                           api_base=api_base, **config)
    session.services.retry_policy = fast_policy()
    return session


def of(session: Session, kind: type) -> list[Any]:
    return [e for e in session.events if isinstance(e, kind)]


# ---- Hugging Face Inference Providers ----------------------------------------------------------------------

def test_only_hf_token_goes_to_the_router_with_session_header_and_no_openai_parameters(fake_router, monkeypatch) -> None:
    hosts: list[str] = []
    real = socket.getaddrinfo

    def recording(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        hosts.append(str(host))
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    monkeypatch.setenv("HF_TOKEN", f"  {fake_router.api_key}\n")  # pasted with whitespace: stripped
    name = choose_model(None, None, "", {"HF_TOKEN": "hf_x"})
    assert name == "anthropic/claude-opus-4.8:fal-ai"
    fake_router.script(Reply(text="", tool_calls=[("fetch", {"n": 2})]), Reply(text="done"))
    session = session_for("moonshotai/Kimi-K2.6:novita", reasoning_effort="high")
    assert asyncio.run(session.run_turn("go")).reason == "done"
    assert not fake_router.refusals.items
    request = fake_router.requests[-1]
    body = request.json()
    assert request.authorization == f"Bearer {fake_router.api_key}"
    assert request.headers["x-hf-session-id"] == session.id
    assert body["model"] == "moonshotai/Kimi-K2.6:novita" and body["reasoning_effort"] == "high"
    assert "prompt_cache_key" not in body
    assert set(hosts) <= {"127.0.0.1", "localhost"}, f"metadata fetched from {set(hosts)}"
    # litellm cannot price router models: "cost unknown", one notice, never $0.00.
    usages = of(session, ev.Usage)
    assert usages and all(u.cost_usd is None for u in usages)
    assert len([n for n in of(session, ev.Notice) if "cost unknown" in n.message]) == 1
    assert session.usage.unpriced_calls == 2 and session.usage.cost_usd == 0.0


def test_max_effort_on_the_router_drops_to_high_once_and_is_remembered_on_resume(fake_router, tmp_path) -> None:
    session = session_for("moonshotai/Kimi-K2.6:novita", reasoning_effort="max")
    asyncio.run(session.run_turn("one"))
    asyncio.run(session.run_turn("two"))
    assert [(f.requested, f.effective) for f in of(session, ev.EffortFallback)] == [("max", "high")]
    assert all(r.json()["reasoning_effort"] == "high" for r in fake_router.requests)
    resumed = Session.resume(session.id, ToolRegistry([fetch]))
    assert resumed.provider.effort_caps == {"moonshotai/Kimi-K2.6:novita": "high"}
    assert resumed.state.reasoning_effort == "max"


def test_a_refused_effort_level_walks_down_with_one_notice(monkeypatch) -> None:
    with FakeOpenAIChat(flavour="router", reasoning_models=("zai-org/GLM",), efforts=("low", "medium")) as fake:
        monkeypatch.setenv("HF_TOKEN", fake.api_key or "")
        monkeypatch.setenv("MLINTERN_HF_ROUTER_URL", fake.base_url)
        session = session_for("zai-org/GLM-5.1:novita", reasoning_effort="high")
        assert asyncio.run(session.run_turn("one")).reason == "done"
        assert asyncio.run(session.run_turn("two")).reason == "done"
        assert len(fake.refusals) == 1 and "reasoning_effort" in fake.refusals.messages()[0]
    assert [(f.requested, f.effective) for f in of(session, ev.EffortFallback)] == [("high", "medium")]
    assert len([n for n in of(session, ev.Notice) if "refused reasoning effort" in n.message]) == 1


def test_a_model_without_reasoning_gets_no_effort_after_its_refusal(fake_router) -> None:
    session = session_for("meta-llama/Llama-3.3-70B-Instruct:groq", reasoning_effort="high")
    assert asyncio.run(session.run_turn("one")).reason == "done"
    assert [(f.requested, f.effective) for f in of(session, ev.EffortFallback)] == [("high", None)]
    assert "reasoning_effort" not in fake_router.requests[-1].json()


def test_billing_refusal_ends_the_turn_with_where_to_add_credits(fake_router) -> None:
    fake_router.fail("openai.chat", 402)
    session = session_for("moonshotai/Kimi-K2.6:novita")
    end = asyncio.run(session.run_turn("go"))
    error = of(session, ev.Error)[0]
    assert end.reason == "error" and error.error_type == "billing"
    assert "https://huggingface.co/settings/billing" in error.hint and len(fake_router.requests) == 1
    assert session.ended is None  # the session stays usable once credits are added


# ---- local servers -------------------------------------------------------------------------------------

def test_a_vllm_server_gets_no_effort_and_no_openai_parameters(fake_local) -> None:
    fake_local.script(Reply(tool_calls=[("fetch", {"n": 1})]), Reply(text="done"))
    session = session_for("vllm/Qwen/Qwen2.5-7B-Instruct", api_base=fake_local.url, reasoning_effort="high")
    assert asyncio.run(session.run_turn("go")).reason == "done"
    body = fake_local.requests[-1].json()
    assert body["model"] == "Qwen/Qwen2.5-7B-Instruct"
    assert not {"reasoning_effort", "prompt_cache_key"} & set(body) and not fake_local.refusals.items
    assert [f.effective for f in of(session, ev.EffortFallback)] == [None]
    assert all(u.cost_usd == 0.0 for u in of(session, ev.Usage))  # a server on this machine costs nothing
    assert Session.resume(session.id, ToolRegistry([fetch])).model.route.api_base == fake_local.base_url


def test_a_local_server_that_is_not_running_names_the_command_that_starts_it() -> None:
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    address = f"http://127.0.0.1:{port.getsockname()[1]}"
    port.close()
    session = session_for("ollama/llama3.1", api_base=address)
    end = asyncio.run(session.run_turn("hi"))
    error = of(session, ev.Error)[0]
    assert end.reason == "error" and error.error_type == "unreachable"
    assert "ollama serve" in error.hint and address in error.message
    assert asyncio.run(session.run_turn("again")).reason == "error"  # the session stays usable


def test_a_base_url_that_is_not_a_model_server_says_so(fake_slack) -> None:
    session = session_for("vllm/some-model", api_base=fake_slack.url)
    asyncio.run(session.run_turn("hi"))
    error = of(session, ev.Error)[0]
    assert error.error_type == "not_found" and "not an OpenAI-compatible model server" in error.message


def test_two_user_messages_never_follow_each_other_for_a_chat_template(fake_local) -> None:
    """A compaction summary (or a guard's note) before the next prompt is joined with it, never sent as two turns."""
    session = session_for("llamacpp/qwen", api_base=fake_local.url)
    session.emit(ev.GuardFired(guard="test", message="a note from a guard"))
    assert asyncio.run(session.run_turn("the next prompt")).reason == "done"
    assert not fake_local.refusals.items
    roles = [m["role"] for m in fake_local.requests[-1].json()["messages"]]
    assert roles == ["system", "user"]


# ---- Anthropic -----------------------------------------------------------------------------------------

def test_overloaded_mid_stream_is_retried_and_a_lasting_529_is_reported_as_overloaded(fake_anthropic) -> None:
    fake_anthropic.script(Reply(text="partial", error_mid_stream="overloaded_error"), Reply(text="recovered"))
    session = session_for("anthropic/claude-sonnet-4-5")
    assert asyncio.run(session.run_turn("go")).reason == "done"
    assert of(session, ev.AssistantMessage)[-1].text == "recovered"
    waits = [e for e in session.seen if isinstance(e, ev.RetryWait)]  # type: ignore[attr-defined]
    assert waits and waits[0].seconds_left >= 4 and waits[-1].seconds_left == 0  # a countdown, not persisted
    assert not [e for e in session.events if isinstance(e, ev.RetryWait)]
    fake_anthropic.fail("anthropic.messages", 529)
    end = asyncio.run(session.run_turn("again"))
    error = of(session, ev.Error)[-1]
    assert end.reason == "error" and error.error_type == "overloaded" and "529" in error.message


def test_a_tool_call_cut_by_max_tokens_is_dropped_and_the_session_goes_on(fake_anthropic) -> None:
    big = {"path": "train.py", "content": "x = 1\n" * 50_000}  # over the 64k-token output limit
    fake_anthropic.script(Reply(text="writing the script", tool_calls=[("fetch", {"n": 1}), ("write", big)]),
                          Reply(text="", tool_calls=[("fetch", {"n": 2})]), Reply(text="done in parts"))
    session = session_for("anthropic/claude-sonnet-4-5")
    assert asyncio.run(session.run_turn("write train.py")).reason == "done"
    guard = of(session, ev.GuardFired)[0]
    assert guard.guard == "output_truncated" and "write" in guard.message and "parts" in guard.message
    assert [r.tool for r in of(session, ev.ToolResult)] == ["fetch"]  # nothing of the cut answer ran
    assert not fake_anthropic.refusals.items and len(fake_anthropic.requests) == 3


def test_effort_on_a_model_without_thinking_falls_back_once(fake_anthropic) -> None:
    session = session_for("anthropic/claude-3-5-haiku-20241022", reasoning_effort="medium")
    asyncio.run(session.run_turn("one"))
    asyncio.run(session.run_turn("two"))
    assert [(f.requested, f.effective) for f in of(session, ev.EffortFallback)] == [("medium", None)]
    assert all("thinking" not in r.json() for r in fake_anthropic.requests) and not fake_anthropic.refusals.items


def test_turning_effort_on_in_the_middle_of_a_tool_loop_is_not_refused(fake_anthropic) -> None:
    """The open tool loop began without a thinking block: that one request goes without thinking."""
    fake_anthropic.script(Reply(tool_calls=[("fetch", {"n": 1})]), Reply(text="done"))
    session = session_for("anthropic/claude-sonnet-4-5")
    session.emit(ev.AssistantMessage(text="", tool_calls=[{"id": "toolu_x", "name": "fetch", "arguments": "{}"}]))
    session.emit(ev.ToolResult(call_id="toolu_x", tool="fetch", ok=True, content="row"))
    session.set_effort("high")
    assert asyncio.run(session.run_turn(None)).reason == "done"
    assert not fake_anthropic.refusals.items


# ---- OpenAI ---------------------------------------------------------------------------------------------

def long_mcp_tool() -> Tool:
    async def run(query: str) -> str:
        return f"found {query}"

    from pydantic import create_model

    args = create_model("mcp_args", query=(str, ...))
    return Tool(name="hf-mcp-server.example__search_everything_on_the_hub_with_a_very_long_tool_name_x",
                description="Searches the Hub. " * 150, parameters={"properties": {"query": {"type": "string"}}},
                function=run, args_model=args)


@pytest.mark.parametrize("flavour", ["openai", "anthropic"])
def test_long_mcp_names_and_descriptions_fit_every_provider_and_map_back(flavour, fake_openai, fake_anthropic) -> None:
    fake = fake_openai if flavour == "openai" else fake_anthropic
    mcp = long_mcp_tool()
    session = session_for("openai/gpt-4o" if flavour == "openai" else "anthropic/claude-sonnet-4-5", [fetch, mcp])
    session.config.policy.read_only_mcp_servers.add("hf-mcp-server.example")  # configured readOnly: no approval

    def responder(body: dict[str, Any]) -> Reply:
        tools = body["tools"]
        names = [t["function"]["name"] if "function" in t else t["name"] for t in tools]
        wire = next(n for n in names if n.startswith("hf-mcp-server_example"))
        if any(m.get("role") == "tool" or (isinstance(m.get("content"), list) and any(
                b.get("type") == "tool_result" for b in m["content"])) for m in body["messages"]):
            return Reply(text="done")
        return Reply(tool_calls=[(wire, {"query": "llama"})])

    fake.responder = responder
    assert asyncio.run(session.run_turn("search")).reason == "done"
    assert not fake.refusals.items
    result = of(session, ev.ToolResult)[0]
    assert result.tool == mcp.name and result.ok and "found llama" in result.content
    if flavour == "openai":
        described = fake.requests[0].json()["tools"][1]["function"]["description"]
        assert len(described) <= 1024


def test_a_400_that_is_not_an_overflow_never_compacts(fake_openai, monkeypatch) -> None:
    from mlintern_jupyter.agent.models import litellm_model

    monkeypatch.setattr(litellm_model, "OPENAI_DESCRIPTION_LIMIT", None)  # send the long description unfitted
    session = session_for("openai/gpt-4o", [fetch, long_mcp_tool()])
    end = asyncio.run(session.run_turn("search"))
    error = of(session, ev.Error)[0]
    assert end.reason == "error" and error.error_type == "bad_request" and "1024" in error.message
    assert not of(session, ev.Compacted) and session.ended is None and len(fake_openai.requests) == 1


def test_a_window_named_in_a_refusal_is_learned_and_the_context_compacted(fake_openai) -> None:
    fake_openai.responder = agent_script(*[Reply(tool_calls=[("fetch", {"n": 600})]) for _ in range(6)])
    session = session_for("openai/gpt-4o")
    # Room for the system prompt and tools plus a few results: the overflow comes from the results.
    window = session.transcript.total_tokens + 4_000
    fake_openai.window = window
    end = asyncio.run(session.run_turn("fetch a lot"))
    learned = of(session, ev.ContextWindowLearned)
    assert learned and learned[0].tokens == window and session.context_window == window
    assert of(session, ev.Compacted) and end.reason == "done"


def test_a_rate_limit_without_retry_after_waits_with_a_visible_countdown(fake_openai) -> None:
    fake_openai.fail("openai.chat", 429, times=1)
    session = session_for("openai/gpt-4o")
    assert asyncio.run(session.run_turn("go")).reason == "done"
    waits = [e.seconds_left for e in session.seen if isinstance(e, ev.RetryWait)]  # type: ignore[attr-defined]
    assert waits[0] >= 27 and waits[-1] == 0 and len(waits) >= 28
    notice = next(n for n in of(session, ev.Notice) if "retry 1 of 2" in n.message)
    assert "rate limit" in notice.message and "Stop cancels" in notice.message


def test_stop_interrupts_the_countdown(fake_openai) -> None:
    fake_openai.fail("openai.chat", 429)
    session = make_session(resolve_model("openai/gpt-4o"), [fetch])  # real sleeps: 30 s unless stopped

    async def main() -> ev.TurnEnded:
        task = asyncio.ensure_future(session.run_turn("go"))
        while not any(isinstance(e, ev.RetryWait) for e in session.seen):  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)
        session.cancel()
        return await asyncio.wait_for(task, 5)

    assert asyncio.run(main()).reason == "cancelled"


def test_a_log_with_thinking_stored_per_fragment_resumes_and_works(fake_anthropic) -> None:
    """Logs written before this fix hold one block per streamed fragment: the fragments are never replayed."""
    fake_anthropic.script(Reply(text="done"))
    session = session_for("anthropic/claude-sonnet-4-5", reasoning_effort="high")
    fragments = [{"type": "thinking", "thinking": "Let me ", "index": 0},
                 {"type": "thinking", "thinking": "", "signature": "sig-of-the-whole-text", "index": 0}]
    session.emit(ev.UserPrompt(text="go"))
    session.emit(ev.AssistantMessage(text="", tool_calls=[{"id": "toolu_a", "name": "fetch", "arguments": "{}"}],
                                     thinking_blocks=fragments))
    session.emit(ev.ToolResult(call_id="toolu_a", tool="fetch", ok=True, content="row"))
    resumed = Session.resume(session.id, ToolRegistry([fetch]))
    resumed.services.retry_policy = fast_policy()
    assert asyncio.run(resumed.run_turn(None)).reason == "done"
    assert not fake_anthropic.refusals.items


def test_a_refused_thinking_signature_stops_the_replay_once(fake_anthropic) -> None:
    fake_anthropic.script(Reply(text="done"), Reply(text="again"))
    session = session_for("anthropic/claude-sonnet-4-5", reasoning_effort="high")
    forged = [{"type": "thinking", "thinking": "from another model", "signature": "not-ours"}]
    session.emit(ev.UserPrompt(text="go"))
    session.emit(ev.AssistantMessage(text="", tool_calls=[{"id": "toolu_b", "name": "fetch", "arguments": "{}"}],
                                     thinking_blocks=forged))
    session.emit(ev.ToolResult(call_id="toolu_b", tool="fetch", ok=True, content="row"))
    assert asyncio.run(session.run_turn(None)).reason == "done"
    assert asyncio.run(session.run_turn("more")).reason == "done"
    assert len(fake_anthropic.refusals) == 1 and "signature" in fake_anthropic.refusals.messages()[0]
    assert len([n for n in of(session, ev.Notice) if "could not verify earlier thinking" in n.message]) == 1


def test_litellm_warnings_become_notices_of_the_session_not_stderr_lines(fake_openai, monkeypatch, capfd) -> None:
    import logging

    import litellm

    real = litellm.acompletion

    async def warning_then_real(**kwargs):  # type: ignore[no-untyped-def]
        logging.getLogger("LiteLLM").warning("model cost map could not be refreshed")
        return await real(**kwargs)

    monkeypatch.setattr(litellm, "acompletion", warning_then_real)
    session = session_for("openai/gpt-4o")
    assert asyncio.run(session.run_turn("hi")).reason == "done"
    assert any("cost map could not be refreshed" in n.message for n in of(session, ev.Notice))
    assert "cost map" not in capfd.readouterr().err
