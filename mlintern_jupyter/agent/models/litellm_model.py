"""The litellm adapter: the only module that imports litellm (lazily, on first use).

The model string goes to `litellm.acompletion` unchanged, so providers registered through
`litellm.custom_provider_map` work like built-in ones.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from ..messages import AssistantMessage, Message, SystemMessage, ToolCallPart, ToolResultMessage, UserMessage
from .base import (
    DeltaCallback,
    ModelConfigError,
    ModelResponse,
    ModelSettings,
    ModelUsage,
    approximate_tokens,
)

# Stated fallback when litellm's model map does not know the model's input window.
FALLBACK_CONTEXT_WINDOW = 128_000

# Providers that accept Anthropic thinking blocks replayed in assistant messages; others reject them.
THINKING_PROVIDERS = ("anthropic", "bedrock", "vertex_ai")


def _litellm() -> Any:
    # The bundled price map: litellm otherwise tries to download it at import (5 s timeout offline).
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


@lru_cache(maxsize=256)
def _provider(model: str) -> str:
    try:
        return _litellm().get_llm_provider(model)[1]
    except Exception:
        return ""


def to_litellm_messages(messages: Sequence[Message], *, keep_thinking: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        match message:
            case SystemMessage(text=text):
                out.append({"role": "system", "content": text})
            case UserMessage(text=text):
                out.append({"role": "user", "content": text})
            case AssistantMessage(text=text, tool_calls=calls, thinking_blocks=thinking):
                item: dict[str, Any] = {"role": "assistant", "content": text or None}
                if calls:
                    item["tool_calls"] = [
                        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                        for c in calls
                    ]
                if thinking and keep_thinking:
                    item["thinking_blocks"] = list(thinking)
                out.append(item)
            case ToolResultMessage(call_id=call_id, tool=tool, content=content):
                out.append({"role": "tool", "tool_call_id": call_id, "name": tool, "content": content})
    return out


def to_litellm_tools(tools: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"type": "function", "function": {"name": t["name"], "description": t["description"], "parameters": t["parameters"]}}
        for t in tools
    ]


class ToolCallAssembler:
    """Joins streamed tool-call fragments by their index (ids and names arrive once, arguments in pieces)."""

    def __init__(self) -> None:
        self.parts: dict[int, dict[str, str]] = {}

    def add(self, delta_calls: Any) -> None:
        for fragment in delta_calls or ():
            index = getattr(fragment, "index", None)
            index = len(self.parts) if index is None else index
            slot = self.parts.setdefault(index, {"id": "", "name": "", "arguments": ""})
            if getattr(fragment, "id", None):
                slot["id"] = fragment.id
            function = getattr(fragment, "function", None)
            if function is not None:
                if getattr(function, "name", None):
                    slot["name"] = function.name
                if getattr(function, "arguments", None):
                    slot["arguments"] += function.arguments

    def calls(self) -> tuple[ToolCallPart, ...]:
        return tuple(
            ToolCallPart(slot["id"] or f"call_{index}", slot["name"], slot["arguments"])
            for index, slot in sorted(self.parts.items())
        )


def usage_from(raw: Any) -> tuple[int, int, int, int]:
    """(prompt, completion, cache read, cache write) from an OpenAI- or Anthropic-shaped usage block."""
    if raw is None:
        return 0, 0, 0, 0
    get = raw.get if isinstance(raw, dict) else lambda k, d=None: getattr(raw, k, d)
    details = get("prompt_tokens_details") or {}
    detail_get = details.get if isinstance(details, dict) else lambda k, d=None: getattr(details, k, d)
    cache_read = get("cache_read_input_tokens") or detail_get("cached_tokens") or 0
    cache_write = get("cache_creation_input_tokens") or detail_get("cache_creation_tokens") or 0
    return int(get("prompt_tokens") or 0), int(get("completion_tokens") or 0), int(cache_read), int(cache_write)


class LiteLLMModel:
    offline = False

    def __init__(self, name: str, **extra: Any) -> None:
        self.name = name
        self.extra = extra
        self._checked = False
        self._token_cache: dict[int, int] = {}

    @property
    def provider(self) -> str:
        return _provider(self.name)

    @property
    def context_window(self) -> int:
        try:
            info = _litellm().get_model_info(self.name)
            return int(info.get("max_input_tokens") or FALLBACK_CONTEXT_WINDOW)
        except Exception:
            return FALLBACK_CONTEXT_WINDOW

    def check(self) -> None:
        """Fail early with the variable or model id to fix, instead of a provider stack trace."""
        if self._checked:
            return
        litellm = _litellm()
        provider = self.provider
        custom = {p.get("provider") for p in (litellm.custom_provider_map or [])}
        if provider in custom:
            self._checked = True
            return
        if not provider:
            raise ModelConfigError(
                f"unknown model id {self.name!r}: litellm cannot tell which provider serves it",
                hint="use provider/model, e.g. anthropic/claude-sonnet-4-5, openai/gpt-4o, "
                "huggingface/Qwen/Qwen2.5-72B-Instruct, ollama/llama3.1; or the offline 'demo'",
            )
        if "api_key" not in self.extra:
            missing = litellm.validate_environment(self.name).get("missing_keys") or []
            if missing:
                raise ModelConfigError(
                    f"model {self.name!r} needs {', '.join(missing)}, which is not set",
                    hint=f"set {missing[0]} in the kernel's environment (os.environ[{missing[0]!r}] = ...)",
                )
        self._checked = True

    def count_tokens(self, message: Message) -> int:
        key = id(message)
        if key not in self._token_cache:
            try:
                msgs = to_litellm_messages([message], keep_thinking=False)
                self._token_cache[key] = int(_litellm().token_counter(model=self.name, messages=msgs))
            except Exception:
                self._token_cache[key] = approximate_tokens(message)
        return self._token_cache[key]

    def _settings_kwargs(self, settings: ModelSettings, notices: list[str]) -> dict[str, Any]:
        litellm = _litellm()
        kwargs: dict[str, Any] = {}
        if settings.reasoning_effort:
            try:
                supported = litellm.supports_reasoning(self.name)
            except Exception:
                supported = False
            if supported:
                kwargs["reasoning_effort"] = settings.reasoning_effort
            else:
                notices.append(f"reasoning effort {settings.reasoning_effort!r} dropped: {self.name} does not support it")
        for key in ("tool_choice", "max_tokens", "temperature"):
            value = getattr(settings, key)
            if value is not None:
                kwargs[key] = value
        return kwargs

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        settings: ModelSettings,
        on_delta: DeltaCallback | None = None,
    ) -> ModelResponse:
        from ..caching import apply_prompt_caching

        self.check()
        litellm = _litellm()
        notices: list[str] = []
        wire_messages = to_litellm_messages(messages, keep_thinking=self.provider in THINKING_PROVIDERS)
        wire_tools = to_litellm_tools(tools)
        wire_messages, wire_tools, cache_kwargs = apply_prompt_caching(
            self.name, wire_messages, wire_tools, settings.prompt_cache_key
        )
        kwargs = {**self.extra, **self._settings_kwargs(settings, notices), **cache_kwargs}
        if wire_tools:
            kwargs["tools"] = wire_tools
        elif "tool_choice" in kwargs:
            del kwargs["tool_choice"]
        stream = await litellm.acompletion(
            model=self.name,
            messages=wire_messages,
            stream=True,
            stream_options={"include_usage": True},
            **kwargs,
        )
        text: list[str] = []
        thinking: list[dict[str, Any]] = []
        assembler = ToolCallAssembler()
        finish_reason = "stop"
        raw_usage = None
        async for chunk in stream:
            raw_usage = getattr(chunk, "usage", None) or raw_usage
            for choice in getattr(chunk, "choices", None) or ():
                delta = choice.delta
                if getattr(delta, "content", None):
                    text.append(delta.content)
                    if on_delta is not None:
                        on_delta(delta.content)
                assembler.add(getattr(delta, "tool_calls", None))
                thinking.extend(getattr(delta, "thinking_blocks", None) or ())
                if choice.finish_reason:
                    finish_reason = choice.finish_reason
        prompt, completion, cache_read, cache_write = usage_from(raw_usage)
        return ModelResponse(
            text="".join(text),
            tool_calls=assembler.calls(),
            usage=ModelUsage(prompt, completion, cache_read, cache_write,
                             self._cost(prompt, completion, cache_read, cache_write)),
            thinking_blocks=tuple(thinking) or None,
            finish_reason=finish_reason,
            model=self.name,
            notices=tuple(notices),
        )

    def _cost(self, prompt: int, completion: int, cache_read: int, cache_write: int) -> float:
        try:
            prompt_cost, completion_cost = _litellm().cost_per_token(
                model=self.name,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cache_read_input_tokens=cache_read,
                cache_creation_input_tokens=cache_write,
            )
            return float(prompt_cost + completion_cost)
        except Exception:
            return 0.0  # not in litellm's price map (local models, custom providers): no observed spend
