"""The Model protocol every provider adapter and offline model implements."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..messages import AssistantMessage, Message, ToolCallPart, ToolResultMessage

DeltaCallback = Callable[[str], None]


@dataclass(frozen=True)
class ModelUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    # None: the model's price is unknown (never reported as $0.00).
    cost_usd: float | None = 0.0


@dataclass(frozen=True)
class ModelResponse:
    text: str = ""
    tool_calls: tuple[ToolCallPart, ...] = ()
    usage: ModelUsage = field(default_factory=ModelUsage)
    thinking_blocks: tuple[dict[str, Any], ...] | None = None
    finish_reason: str = "stop"
    model: str = ""
    # Things the person should know about this call (a setting the provider does not support, ...).
    notices: tuple[str, ...] = ()

    def as_message(self) -> AssistantMessage:
        return AssistantMessage(self.text, self.tool_calls, self.thinking_blocks)


@dataclass(frozen=True)
class ModelSettings:
    reasoning_effort: str | None = None
    # "none" for compaction summaries: the summariser must answer in text.
    tool_choice: str | None = None
    prompt_cache_key: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None


class ModelConfigError(Exception):
    """The model cannot be used as configured: unknown id, missing key, rejected credentials."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@runtime_checkable
class Model(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def context_window(self) -> int:
        """Input window in tokens; compaction starts at 90% of it."""
        ...

    # Offline models say so, so every card can label them honestly.
    offline: bool

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        settings: ModelSettings,
        on_delta: DeltaCallback | None = None,
    ) -> ModelResponse: ...

    def count_tokens(self, message: Message) -> int: ...


def approximate_tokens(message: Message) -> int:
    """About four characters a token: the offline models' counter (no tokenizer download needed)."""
    size = len(getattr(message, "text", "") or getattr(message, "content", "") or "")
    if isinstance(message, AssistantMessage):
        size += sum(len(c.name) + len(c.arguments) for c in message.tool_calls)
    elif isinstance(message, ToolResultMessage):
        size += len(message.tool)
    return size // 4 + 4


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str | None = None) -> ToolCallPart:
    """Build a tool call part for scripted responses; arguments may be a dict or raw (even malformed) JSON."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCallPart(call_id or "", name, raw)
