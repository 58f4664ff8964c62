"""Tools as plain async functions: derived schema, validation before the call."""

import asyncio
from typing import Literal

import pytest

from mlintern_jupyter.tools.registry import Tool, ToolArgumentsError, ToolContext, ToolRegistry, tool


async def train(model_id: str, epochs: int = 3, mode: Literal["full", "lora"] = "lora",
                ctx: ToolContext | None = None) -> dict:
    """Train a model.

    Args:
        model_id: the Hub id of the base model
        epochs: passes over the data
        mode: full fine-tuning or LoRA
    """
    return {"model": model_id, "epochs": epochs, "mode": mode}


def test_schema_is_derived_from_the_signature_and_docstring() -> None:
    t = Tool.from_function(train)
    assert t.name == "train" and t.description == "Train a model."
    props = t.parameters["properties"]
    assert set(props) == {"model_id", "epochs", "mode"}  # the context parameter is not part of the schema
    assert props["model_id"]["description"] == "the Hub id of the base model"
    assert props["mode"]["enum"] == ["full", "lora"]
    assert t.parameters["required"] == ["model_id"] and t.parameters["additionalProperties"] is False


def test_validation_rejects_bad_arguments_before_the_call() -> None:
    t = Tool.from_function(train)
    assert t.validate({"model_id": "gpt2"}) == {"model_id": "gpt2", "epochs": 3, "mode": "lora"}
    for bad in ({}, {"model_id": "gpt2", "epochs": "many"}, {"model_id": "x", "mode": "half"},
                {"model_id": "x", "surprise": 1}, ["not", "an", "object"]):
        with pytest.raises(ToolArgumentsError):
            t.validate(bad)


def test_run_passes_the_context_and_serialises_results(tmp_path) -> None:
    t = Tool.from_function(train)
    ctx = ToolContext(session_id="s", call_id="c", workspace=tmp_path)
    result = asyncio.run(t.run(t.validate({"model_id": "gpt2"}), ctx))
    assert result.ok and '"model": "gpt2"' in result.content


def test_sync_functions_are_refused_and_registry_is_per_instance() -> None:
    def not_async(x: int) -> int:
        return x

    with pytest.raises(TypeError):
        Tool.from_function(not_async)  # type: ignore[arg-type]
    first, second = ToolRegistry([train]), ToolRegistry()
    assert "train" in first and "train" not in second
    assert tool(read_only=True)(train).read_only


async def open_pr(repo_id: str, title: str, description: str | None = None) -> str:
    """Open a pull request.

    Args:
        repo_id: the repository
        title: the pull request's title
        description: its text
    """
    return title


def test_a_parameter_called_title_survives_the_schema_cleanup() -> None:
    t = Tool.from_function(open_pr)
    props = t.parameters["properties"]
    # pydantic's generated "title" annotations are gone, the real parameter named "title" is kept and required
    assert set(props) == {"repo_id", "title", "description"} and t.parameters["required"] == ["repo_id", "title"]
    assert props["title"] == {"description": "the pull request's title", "type": "string"}
    assert "title" not in t.parameters and all("title" not in p for p in props.values())
    with pytest.raises(ToolArgumentsError, match="title"):
        t.validate({"repo_id": "me/x"})
