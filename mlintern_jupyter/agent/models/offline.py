"""Offline models: replay scripted responses or call a Python function. No network, no key.

They ship in the package (as pydantic-ai's test models do) so notebooks, tests and demos run anywhere.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from ..messages import Message, ToolCallPart, UserMessage
from .base import DeltaCallback, ModelConfigError, ModelResponse, ModelSettings, ModelUsage, approximate_tokens

ScriptItem = ModelResponse | str | dict[str, Any]


def response_from_item(item: ScriptItem) -> ModelResponse:
    """A script item is a ModelResponse, plain text, or {"text", "tool_calls": [{"name", "arguments"}]}."""
    if isinstance(item, ModelResponse):
        return item
    if isinstance(item, str):
        return ModelResponse(text=item)
    calls = tuple(
        ToolCallPart(
            c.get("id", ""),
            c["name"],
            c["arguments"] if isinstance(c.get("arguments"), str) else json.dumps(c.get("arguments", {})),
        )
        for c in item.get("tool_calls", [])
    )
    return ModelResponse(text=item.get("text", ""), tool_calls=calls, finish_reason="tool_calls" if calls else "stop")


class _OfflineBase:
    context_window = 200_000
    offline = True

    def __init__(self, name: str, *, delay: float = 0.0, chunk_size: int = 16) -> None:
        self.name = name
        self.delay = delay
        self.chunk_size = chunk_size
        self.calls = 0
        self.requests: list[list[Message]] = []

    def count_tokens(self, message: Message) -> int:
        return approximate_tokens(message)

    async def _stream(self, response: ModelResponse, on_delta: DeltaCallback | None) -> ModelResponse:
        """Stream the text in chunks, yielding to the loop so cancellation can land mid-response."""
        text = response.text
        for start in range(0, len(text), self.chunk_size):
            if on_delta is not None:
                on_delta(text[start : start + self.chunk_size])
            await asyncio.sleep(self.delay)
        if not text:
            await asyncio.sleep(self.delay)
        calls = tuple(
            ToolCallPart(c.id or f"call_{self.calls}_{i}", c.name, c.arguments) for i, c in enumerate(response.tool_calls)
        )
        usage = response.usage
        if usage == ModelUsage():
            usage = ModelUsage(prompt_tokens=sum(approximate_tokens(m) for m in self.requests[-1]),
                               completion_tokens=len(text) // 4 + 1)
        return ModelResponse(
            text=text,
            tool_calls=calls,
            usage=usage,
            thinking_blocks=response.thinking_blocks,
            finish_reason=response.finish_reason,
            model=self.name,
            notices=response.notices,
        )


class ScriptedModel(_OfflineBase):
    """Replays a list of responses, one per model call; says so plainly when the script runs out."""

    def __init__(self, responses: Sequence[ScriptItem], *, name: str = "scripted", delay: float = 0.0) -> None:
        super().__init__(name, delay=delay)
        self.responses = [response_from_item(r) for r in responses]

    @classmethod
    def from_spec(cls, spec: str) -> ScriptedModel:
        """`scripted:PATH` (a JSON list of script items) or `scripted:echo` (answers with the last prompt)."""
        target = spec.removeprefix("scripted:")
        if target == "echo":
            return EchoModel()  # type: ignore[return-value]
        path = Path(target).expanduser()
        if not path.is_file():
            raise ModelConfigError(
                f"scripted model file not found: {target!r}",
                hint="use --model scripted:PATH with a JSON list of responses, or scripted:echo",
            )
        try:
            items = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ModelConfigError(f"scripted model file {target!r} is not valid JSON: {exc}") from exc
        # The full spec, so a resumed session can rebuild the same model from its log.
        return cls(items, name=f"scripted:{path.resolve()}")

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        settings: ModelSettings,
        on_delta: DeltaCallback | None = None,
    ) -> ModelResponse:
        self.requests.append(list(messages))
        index = self.calls
        self.calls += 1
        if index >= len(self.responses):
            return await self._stream(ModelResponse(text="(The scripted model has no more responses.)"), on_delta)
        return await self._stream(self.responses[index], on_delta)


class EchoModel(_OfflineBase):
    """Answers every prompt with its own text: the smallest possible offline model."""

    def __init__(self) -> None:
        super().__init__("scripted:echo")

    async def request(self, messages, tools, settings, on_delta=None):  # type: ignore[no-untyped-def]
        self.requests.append(list(messages))
        self.calls += 1
        last = next((m.text for m in reversed(messages) if isinstance(m, UserMessage)), "")
        return await self._stream(ModelResponse(text=f"You said: {last}"), on_delta)


FunctionModelFn = Callable[
    [Sequence[Message], Sequence[dict[str, Any]], ModelSettings],
    ScriptItem | Awaitable[ScriptItem],
]


class FunctionModel(_OfflineBase):
    """Calls a Python function with the transcript and tools for each model call (tests, fault injection)."""

    def __init__(self, fn: FunctionModelFn, *, name: str = "function", delay: float = 0.0) -> None:
        super().__init__(name, delay=delay)
        self.fn = fn

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        settings: ModelSettings,
        on_delta: DeltaCallback | None = None,
    ) -> ModelResponse:
        self.requests.append(list(messages))
        self.calls += 1
        result = self.fn(messages, tools, settings)
        if inspect.isawaitable(result):
            result = await result
        return await self._stream(response_from_item(result), on_delta)
