"""The litellm adapter over the wire: loopback Anthropic and OpenAI servers, litellm's real transformations.

CustomLLM stays only where the wire does not matter (a provider registered through `litellm.custom_provider_map`).
"""

import asyncio
import subprocess
import sys

import litellm
import pytest

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.messages import AssistantMessage, SystemMessage, ToolCallPart, UserMessage
from mlintern_jupyter.agent.models import ModelConfigError, ModelSettings, ScriptedModel, resolve_model
from mlintern_jupyter.agent.models.litellm_model import LiteLLMModel
from mlintern_jupyter.agent.models.stream import ThinkingAssembler, ToolCallAssembler
from mlintern_jupyter.agent.models.wire import to_wire_messages
from tests.fakes.llm_common import Reply

from .helpers import make_session

TOOLS = [{"name": "read", "description": "Read a file", "parameters": {"type": "object", "properties": {
    "path": {"type": "string"}}}},
         {"name": "bash", "description": "Run a command", "parameters": {"type": "object", "properties": {
             "command": {"type": "string"}}}}]
LONG_SYSTEM = "You are an ML engineer working in a notebook. " * 200  # over 1,024 tokens: cacheable


def test_openai_stream_text_parallel_tool_calls_usage_and_cost(fake_openai) -> None:
    fake_openai.script(Reply(text="hello there", tool_calls=[("read", {"path": "a.txt"}), ("bash", {"command": "ls"})]),
                       Reply(text="again"))
    model = LiteLLMModel("openai/gpt-4o")
    deltas: list[str] = []
    messages = [SystemMessage(LONG_SYSTEM), UserMessage("hi")]
    result = asyncio.run(model.request(messages, TOOLS, ModelSettings(prompt_cache_key="s1"), deltas.append))
    assert "".join(deltas) == "hello there"
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("read", '{"path": "a.txt"}'),
                                                                  ("bash", '{"command": "ls"}')]
    assert result.finish_reason == "tool_calls" and all(c.id.startswith("call_") for c in result.tool_calls)
    assert result.usage.prompt_tokens == fake_openai.usage_log[0]["prompt_tokens"]
    assert result.usage.cost_usd is not None and result.usage.cost_usd > 0  # litellm's bundled price map
    second = asyncio.run(model.request(messages, TOOLS, ModelSettings(prompt_cache_key="s1")))
    assert second.usage.cache_read_tokens == fake_openai.usage_log[1]["cached_tokens"] > 0
    body = fake_openai.requests[-1].json()
    assert body["prompt_cache_key"] == "s1" and body["stream_options"] == {"include_usage": True}
    assert not fake_openai.refusals.items


def test_anthropic_stream_with_cache_tokens_from_message_delta(fake_anthropic) -> None:
    model = LiteLLMModel("anthropic/claude-sonnet-4-5")
    messages = [SystemMessage(LONG_SYSTEM), UserMessage("hi")]
    first = asyncio.run(model.request(messages, TOOLS, ModelSettings()))
    second = asyncio.run(model.request(messages, TOOLS, ModelSettings()))
    assert first.text == "ok" and first.usage.cache_write_tokens == fake_anthropic.usage_log[0][
        "cache_creation_input_tokens"] > 0
    assert second.usage.cache_read_tokens == fake_anthropic.usage_log[1]["cache_read_input_tokens"] > 0
    assert not fake_anthropic.refusals.items


def test_thinking_is_assembled_per_block_and_replayed_exactly(fake_anthropic, tmp_path) -> None:
    """Stored per fragment, the replay sent a signature beside empty thinking and every later call was refused."""
    from mlintern_jupyter.tools.registry import ToolRegistry, tool

    @tool(read_only=True)
    async def fetch(n: int) -> str:
        """Fetch rows.

        Args:
            n: how many
        """
        return "row\n" * n

    long_thought = "Weigh the dataset size against the GPU budget before choosing a model. " * 6
    fake_anthropic.script(Reply(text="step 1", thinking=long_thought, tool_calls=[("fetch", {"n": 2}), ("fetch", {"n": 3})]),
                          Reply(text="step 2", thinking=long_thought, tool_calls=[("fetch", {"n": 1})]),
                          Reply(text="done"))
    session = make_session(resolve_model("anthropic/claude-sonnet-4-5"), ToolRegistry([fetch]),
                           reasoning_effort="high")
    assert asyncio.run(session.run_turn("go")).reason == "done"
    assert not fake_anthropic.refusals.items and len(fake_anthropic.requests) == 3
    stored = [e.thinking_blocks for e in session.events if isinstance(e, ev.AssistantMessage) and e.tool_calls]
    assert stored[0] == [{"type": "thinking", "thinking": long_thought, "signature": fake_anthropic.signature(long_thought)}]
    assert fake_anthropic.requests[-1].json()["thinking"]["type"] == "enabled"


def test_thinking_fragments_join_by_index_and_unsigned_blocks_are_dropped() -> None:
    assembler = ThinkingAssembler()
    assembler.add([{"type": "thinking", "thinking": "Let me ", "index": 0}])
    assembler.add([{"type": "thinking", "thinking": "think.", "index": 0}])
    assembler.add([{"type": "thinking", "thinking": "", "signature": "sig-0", "index": 0}])
    assembler.add([{"type": "redacted_thinking", "data": "opaque", "index": 1}])
    assembler.add([{"type": "thinking", "thinking": "cut off before its signature", "index": 2}])
    assert assembler.complete() == ({"type": "thinking", "thinking": "Let me think.", "signature": "sig-0"},
                                    {"type": "redacted_thinking", "data": "opaque"})


def test_tool_call_fragments_are_joined_by_index() -> None:
    from litellm.types.utils import ChatCompletionDeltaToolCall, Function

    assembler = ToolCallAssembler()
    assembler.add([ChatCompletionDeltaToolCall(index=1, id="b", function=Function(name="bash", arguments='{"comm'))])
    assembler.add([ChatCompletionDeltaToolCall(index=0, id="a", function=Function(name="read", arguments='{"pa'))])
    assembler.add([ChatCompletionDeltaToolCall(index=1, function=Function(arguments='and": "ls"}'))])
    assembler.add([ChatCompletionDeltaToolCall(index=0, function=Function(arguments='th": "x"}'))])
    assert [(c.id, c.arguments) for c in assembler.calls()] == [("a", '{"path": "x"}'), ("b", '{"command": "ls"}')]


def test_wire_messages_replay_thinking_only_where_accepted_and_never_send_empty_turns() -> None:
    signed = {"type": "thinking", "thinking": "hmm", "signature": "s"}
    unsigned = {"type": "thinking", "thinking": "hmm", "signature": ""}
    msgs = [UserMessage("a"), AssistantMessage("x", (ToolCallPart("c1", "read", "{}"),), (signed, unsigned)),
            AssistantMessage("", (), (signed,)), UserMessage("summary", synthetic=True), UserMessage("next")]
    anthropic = to_wire_messages(msgs, keep_thinking=True)
    assert anthropic[1]["thinking_blocks"] == [signed]  # the unsigned fragment is never replayed
    assert "thinking_blocks" not in to_wire_messages(msgs, keep_thinking=False)[1]
    # The empty assistant turn is left out and the two user messages after it become one.
    assert [m["role"] for m in anthropic] == ["user", "assistant", "user"]
    assert anthropic[-1]["content"] == "summary\n\nnext"


def test_token_counts_are_cached_by_content_not_by_object_id(monkeypatch) -> None:
    """After compaction a new message could reuse a freed one's id: a 40-token result was counted as 1,902."""
    model = LiteLLMModel("openai/gpt-4o")
    calls: list[int] = []
    real = litellm.token_counter

    def counting(**kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(litellm, "token_counter", counting)
    big = UserMessage("word " * 2000)
    big_count = model.count_tokens(big)
    big_id = id(big)
    del big
    small = UserMessage("a short result")
    small_count = model.count_tokens(small)
    assert small_count < 20 < big_count
    assert model.count_tokens(UserMessage("a short result")) == small_count and len(calls) == 2
    assert id(small) == big_id or small_count < 20  # whether or not the id was reused, the count is the content's


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
    from litellm.utils import custom_llm_setup

    custom_llm_setup()
    model = resolve_model("mylab/any-model-name")
    assert model.name == "mylab/any-model-name" and model.route.kind == "litellm"
    result = asyncio.run(model.request([UserMessage("hi")], [], ModelSettings()))
    assert result.text == "custom ok"


def test_unknown_model_id_ends_the_turn_with_a_hint() -> None:
    session = make_session(resolve_model("definitely-not-a-model"))
    end = asyncio.run(session.run_turn("hi"))
    assert end.reason == "error"
    error = next(e for e in session.events if e.kind == "error")
    assert "definitely-not-a-model" in error.message and "anthropic/" in error.hint


@pytest.mark.parametrize(("model", "variable"), [("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
                                                 ("openai/gpt-5", "OPENAI_API_KEY"),
                                                 ("moonshotai/Kimi-K2.6:novita", "HF_TOKEN")])
def test_a_provider_without_its_key_names_the_variable(model, variable, monkeypatch) -> None:
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    session = make_session(resolve_model(model))
    end = asyncio.run(session.run_turn("hi"))
    error = next(e for e in session.events if e.kind == "error")
    assert end.reason == "error" and variable in error.message + error.hint
    assert asyncio.run(session.run_turn("again")).reason == "error"  # still usable: a clear error, no crash


def test_a_rejected_key_is_an_auth_error_naming_the_variable_and_the_log_stays_valid(fake_anthropic, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-wrong")
    session = make_session(resolve_model("anthropic/claude-sonnet-4-5"))
    end = asyncio.run(session.run_turn("hi"))
    error = next(e for e in session.events if e.kind == "error")
    assert end.reason == "error" and error.error_type == "auth" and "ANTHROPIC_API_KEY" in error.hint
    assert len(fake_anthropic.requests) == 1  # an auth refusal is never retried
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
    with pytest.raises(ModelConfigError, match="api-base"):
        resolve_model("demo", api_base="http://localhost:8000")


def test_litellm_is_not_imported_by_the_package() -> None:
    code = ("import sys, mlintern_jupyter, mlintern_jupyter.agent.session, mlintern_jupyter.agent.loop, "
            "mlintern_jupyter.agent.models; assert 'litellm' not in sys.modules, 'litellm imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_load_ext_imports_litellm_on_a_background_thread() -> None:
    """%load_ext returns at once; litellm is imported by a daemon thread, never by the main thread."""
    code = """
import sys, threading, time
from IPython.testing.globalipapp import start_ipython
importers = []
class WhoImports:  # records the thread that first imports litellm; finds nothing itself
    def find_spec(self, name, path=None, target=None):
        if name == "litellm":
            importers.append(threading.current_thread())
        return None
sys.meta_path.insert(0, WhoImports())
shell = start_ipython()
started = time.perf_counter()
shell.run_line_magic("load_ext", "mlintern_jupyter")
took = time.perf_counter() - started
thread = next(t for t in threading.enumerate() if t.name == "mlintern-litellm-import")
assert thread is not threading.main_thread() and thread.daemon
thread.join(60)
assert "litellm" in sys.modules
# Which thread imported it, not how long load_ext took: a timing bound flakes on a loaded machine.
assert importers and all(t is thread for t in importers), importers
import logging
assert logging.getLogger("LiteLLM").propagate is False  # its warnings become session notices, not stderr lines
print("ok", round(took, 3))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env={**__import__("os").environ, "IPYTHONDIR": __import__("tempfile").mkdtemp()})
    assert out.stdout.startswith("ok")
