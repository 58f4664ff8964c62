"""The litellm adapter through litellm's real streaming path (mock_response, custom providers), and bad input."""

import asyncio
import subprocess
import sys

import litellm
import pytest

from mlintern_jupyter.agent.messages import AssistantMessage, UserMessage
from mlintern_jupyter.agent.models import ModelConfigError, ModelSettings, ScriptedModel, resolve_model
from mlintern_jupyter.agent.models.litellm_model import LiteLLMModel, ToolCallAssembler, to_litellm_messages

from .helpers import make_session

TOOLS = [{"name": "read", "description": "Read a file", "parameters": {"type": "object", "properties": {}}}]


def mock(content: str = "", tool_calls=None, usage=None) -> litellm.ModelResponse:
    message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return litellm.ModelResponse(
        choices=[{"message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        usage=usage or {"prompt_tokens": 10, "completion_tokens": 5},
    )


def test_streaming_text_tool_calls_usage_and_cost(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000000")
    response = mock("hello there", [
        {"id": "c1", "type": "function", "function": {"name": "read", "arguments": '{"path": "a.txt"}'}},
        {"id": "c2", "type": "function", "function": {"name": "bash", "arguments": '{"command": "ls"}'}},
    ], {"prompt_tokens": 1000, "completion_tokens": 20, "prompt_tokens_details": {"cached_tokens": 400}})
    model = LiteLLMModel("openai/gpt-4o", mock_response=response)
    deltas: list[str] = []
    result = asyncio.run(model.request([UserMessage("hi")], TOOLS, ModelSettings(), deltas.append))
    assert "".join(deltas) == "hello there"
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        ("c1", "read", '{"path": "a.txt"}'), ("c2", "bash", '{"command": "ls"}')]
    assert result.usage.prompt_tokens == 1000 and result.usage.cache_read_tokens == 400
    assert result.usage.cost_usd > 0  # from litellm's bundled price map


def test_reasoning_effort_is_dropped_with_a_notice_where_unsupported(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000000")
    model = LiteLLMModel("openai/gpt-4o", mock_response=mock("ok"))
    result = asyncio.run(model.request([UserMessage("hi")], [], ModelSettings(reasoning_effort="high")))
    assert result.notices and "reasoning effort" in result.notices[0]
    assert model._settings_kwargs(ModelSettings(reasoning_effort="high"), []) == {}
    claude = LiteLLMModel("anthropic/claude-sonnet-4-5")
    assert claude._settings_kwargs(ModelSettings(reasoning_effort="high"), []) == {"reasoning_effort": "high"}


def test_tool_call_fragments_are_joined_by_index() -> None:
    from litellm.types.utils import ChatCompletionDeltaToolCall, Function

    assembler = ToolCallAssembler()
    assembler.add([ChatCompletionDeltaToolCall(index=1, id="b", function=Function(name="bash", arguments='{"comm'))])
    assembler.add([ChatCompletionDeltaToolCall(index=0, id="a", function=Function(name="read", arguments='{"pa'))])
    assembler.add([ChatCompletionDeltaToolCall(index=1, function=Function(arguments='and": "ls"}'))])
    assembler.add([ChatCompletionDeltaToolCall(index=0, function=Function(arguments='th": "x"}'))])
    assert [(c.id, c.arguments) for c in assembler.calls()] == [("a", '{"path": "x"}'), ("b", '{"command": "ls"}')]


def test_thinking_blocks_only_replayed_to_providers_that_accept_them() -> None:
    message = AssistantMessage("x", (), ({"type": "thinking", "thinking": "hmm", "signature": "s"},))
    assert "thinking_blocks" in to_litellm_messages([message], keep_thinking=True)[0]
    assert "thinking_blocks" not in to_litellm_messages([message], keep_thinking=False)[0]


class EchoProvider(litellm.CustomLLM):
    async def acompletion(self, *args, **kwargs):
        return litellm.ModelResponse(choices=[{"message": {"role": "assistant", "content": "custom ok"}}])

    async def astreaming(self, *args, **kwargs):
        yield {"text": "custom ", "is_finished": False, "finish_reason": None, "usage": None, "index": 0,
               "tool_use": None}
        yield {"text": "ok", "is_finished": True, "finish_reason": "stop",
               "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}, "index": 0, "tool_use": None}


def test_custom_provider_model_string_passes_through(monkeypatch) -> None:
    monkeypatch.setattr(litellm, "custom_provider_map", [{"provider": "mylab", "custom_handler": EchoProvider()}])
    litellm.custom_provider_map = [{"provider": "mylab", "custom_handler": EchoProvider()}]
    from litellm.utils import custom_llm_setup

    custom_llm_setup()
    model = resolve_model("mylab/any-model-name")
    assert model.name == "mylab/any-model-name"
    result = asyncio.run(model.request([UserMessage("hi")], [], ModelSettings()))
    assert result.text == "custom ok"


def test_unknown_model_id_ends_the_turn_with_a_hint() -> None:
    session = make_session(resolve_model("definitely-not-a-model"))
    end = asyncio.run(session.run_turn("hi"))
    assert end.reason == "error"
    error = next(e for e in session.events if e.kind == "error")
    assert "definitely-not-a-model" in error.message and "anthropic/" in error.hint


def test_missing_api_key_names_the_variable() -> None:
    session = make_session(resolve_model("anthropic/claude-sonnet-4-5"))
    end = asyncio.run(session.run_turn("hi"))
    error = next(e for e in session.events if e.kind == "error")
    assert end.reason == "error" and "ANTHROPIC_API_KEY" in error.message + error.hint


class RejectingProvider(litellm.CustomLLM):
    async def acompletion(self, *args, **kwargs):
        raise litellm.AuthenticationError(message="invalid x-api-key", llm_provider="anthropic", model="m")

    async def astreaming(self, *args, **kwargs):
        raise litellm.AuthenticationError(message="invalid x-api-key", llm_provider="anthropic", model="m")
        yield  # pragma: no cover


def test_provider_authentication_error_is_an_error_event_and_the_log_stays_valid(monkeypatch) -> None:
    from litellm.utils import custom_llm_setup

    monkeypatch.setattr(litellm, "custom_provider_map", [{"provider": "rejects", "custom_handler": RejectingProvider()}])
    custom_llm_setup()
    session = make_session(resolve_model("rejects/claude"))
    end = asyncio.run(session.run_turn("hi"))
    assert end.reason == "error"
    error = next(e for e in session.events if e.kind == "error")
    assert "AuthenticationError" in error.error_type + error.message and "key" in error.hint
    from mlintern_jupyter.agent.store import read_events

    log = read_events(session.dir / "events.jsonl")
    assert log.torn_tail is None and not log.bad_lines and log.events[-1].kind == "turn_ended"


def test_scripted_spec_errors_are_config_errors(tmp_path) -> None:
    with pytest.raises(ModelConfigError):
        resolve_model("scripted:/no/such/file.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ModelConfigError):
        resolve_model(f"scripted:{bad}")
    good = tmp_path / "good.json"
    good.write_text('["one", {"text": "two"}]')
    assert isinstance(resolve_model(f"scripted:{good}"), ScriptedModel)


def test_litellm_is_not_imported_by_the_package() -> None:
    code = ("import sys, mlintern_jupyter, mlintern_jupyter.agent.session, mlintern_jupyter.agent.loop, "
            "mlintern_jupyter.agent.models; assert 'litellm' not in sys.modules, 'litellm imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True)
