"""Models: the protocol, the litellm adapter (imported lazily) and the offline models."""

from __future__ import annotations

from typing import Any

from .base import Model, ModelConfigError, ModelResponse, ModelSettings, ModelUsage, tool_call
from .offline import EchoModel, FunctionModel, ScriptedModel

__all__ = [
    "EchoModel",
    "FunctionModel",
    "Model",
    "ModelConfigError",
    "ModelResponse",
    "ModelSettings",
    "ModelUsage",
    "ScriptedModel",
    "resolve_model",
    "tool_call",
]


def resolve_model(name: str, api_base: str | None = None, **extra: Any) -> Model:
    """A model object from an id: `demo`, `scripted:...`, or a routed provider id (see `routes.py`)."""
    name = name.strip()
    if not name:
        raise ModelConfigError("no model given", hint="pass --model, set MLINTERN_MODEL, or try --model demo")
    if api_base and (name == "demo" or name.startswith("scripted:")):
        raise ModelConfigError(f"--api-base does not apply to the offline model {name!r}")
    if name == "demo":
        from .demo import DemoModel

        return DemoModel()
    if name.startswith("scripted:"):
        return ScriptedModel.from_spec(name)
    from .litellm_model import LiteLLMModel

    return LiteLLMModel(name, api_base, **extra)
