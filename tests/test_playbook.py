"""What a real model is sent: the notebook session's system message and tool schemas, captured at litellm's
provider boundary, must teach every concept of tests/fixtures/concepts.json and fit the token budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import litellm
import pytest
from IPython import get_ipython
from IPython.testing.globalipapp import start_ipython

from mlintern_jupyter.agent.session_context import SESSION_CONTEXT_HEADER, split_system_prompt
from tests.concepts import CONCEPTS, missing_concepts, sent_text

TOKEN_BUDGET = 12_000
COUNT_WITH = ("anthropic/claude-sonnet-4-5", "gpt-4o")


def system_text(message: dict[str, Any]) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


class CapturingProvider(litellm.CustomLLM):
    """Records what litellm hands the provider (messages and tools, after every adapter step) and answers."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []

    def _record(self, messages: list, optional_params: dict) -> None:
        self.requests.append({"messages": json.loads(json.dumps(messages, default=str)),
                              "tools": json.loads(json.dumps(optional_params.get("tools") or []))})

    async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
        self._record(kwargs["messages"], kwargs["optional_params"])
        return litellm.ModelResponse(choices=[{"message": {"role": "assistant", "content": "noted"}}])

    async def astreaming(self, *args: Any, **kwargs: Any) -> Any:
        self._record(kwargs["messages"], kwargs["optional_params"])
        yield {"text": "noted", "is_finished": True, "finish_reason": "stop", "index": 0, "tool_use": None,
               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


@pytest.fixture
def sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_hub_env) -> dict[str, Any]:
    """One turn of a notebook session signed in to the loopback Hub; the first request as the provider got it."""
    from litellm.utils import custom_llm_setup

    provider = CapturingProvider()
    monkeypatch.setattr(litellm, "custom_provider_map", [{"provider": "capture", "custom_handler": provider}])
    custom_llm_setup()
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "finetune.ipynb"))
    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "mlintern_jupyter")
    try:
        shell.run_cell("import math\nrows = [1, 2, 3]")
        shell.run_cell_magic("intern", "--model capture/any --wait --new", "fine-tune a classifier")
    finally:
        shell.run_line_magic("unload_ext", "mlintern_jupyter")
    assert provider.requests, "the session never reached the provider"
    return {**provider.requests[0], "hub": fake_hub_env}


def test_the_session_sends_the_playbook_then_its_context(sent) -> None:
    system = [m for m in sent["messages"] if m["role"] == "system"]
    assert len(system) == 1
    static, context = split_system_prompt(system_text(system[0]))
    assert context.startswith(SESSION_CONTEXT_HEADER)
    assert f"Tools: {len(sent['tools'])}." in context
    assert f"signed in as {sent['hub'].user}, member of fake-org" in context
    assert "Runtime: HF Jobs" in context and "a10g-large A10G 24GB $1.50" in context
    assert "Notebook: finetune.ipynb." in context and "rows (list)" in context
    assert sent["hub"].token not in json.dumps(sent["messages"])


def test_every_concept_of_the_checklist_reaches_the_model(sent) -> None:
    system = next(m for m in sent["messages"] if m["role"] == "system")
    text = sent_text(system_text(system), sent["tools"])
    assert missing_concepts(text, "ml") == []
    assert missing_concepts(text, "project") == []
    assert len(CONCEPTS["ml"]) == 30


def test_system_prompt_and_tool_schemas_fit_the_token_budget(sent) -> None:
    system = next(m for m in sent["messages"] if m["role"] == "system")
    messages = [{"role": "system", "content": system_text(system)}]
    for model in COUNT_WITH:
        total = litellm.token_counter(model=model, messages=messages, tools=sent["tools"])
        assert total <= TOKEN_BUDGET, f"{model}: {total} tokens of system prompt and tool schemas"


def test_the_checklist_tells_a_prompt_without_the_playbook_apart() -> None:
    """Each pattern needs the teaching, not a tool name: the bare tool schemas alone miss most concepts."""
    from mlintern_jupyter.tools import default_tools

    names_only = "\n".join(t.name for t in default_tools())
    assert missing_concepts(names_only, "ml") == [c["id"] for c in CONCEPTS["ml"]]
    assert missing_concepts(names_only, "project") == [c["id"] for c in CONCEPTS["project"]]


def test_the_tools_the_model_sees_are_the_notebook_sessions_tools(sent) -> None:
    names = {t["function"]["name"] for t in sent["tools"]}
    assert {"notebook_insert_cell", "kernel_history", "kernel_inspect", "hf_jobs", "hf_inspect_dataset"} <= names


def test_a_resumed_session_gets_a_fresh_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["hello"]))
    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "mlintern_jupyter")
    try:
        shell.run_cell_magic("intern", f"--model scripted:{script} --wait --new", "hi")
        agent = shell.magics_manager.registry["InternMagics"].agent
        session_id = agent.session.id
        shell.run_cell("resumed_marker = 1")
        shell.run_line_magic("intern", f"resume {session_id}")
        first = agent.session.transcript.messages[0]
    finally:
        shell.run_line_magic("unload_ext", "mlintern_jupyter")
    static, context = split_system_prompt(first.text)
    assert agent.session.id == session_id and context.startswith(SESSION_CONTEXT_HEADER)
    assert "resumed_marker (int)" in context and "Tools: " in context
