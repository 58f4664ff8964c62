"""Provider-neutral transcript: what the model sees, independent of litellm's wire format."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal


def arguments_object(arguments: Any, *, keep_raw: bool = True) -> dict[str, Any]:
    """A tool call's arguments as an object, whatever the model sent: a dict as is, JSON text parsed; anything
    else is kept under `_raw` (for records that must not lose it) or dropped (for rules that only read it)."""
    if isinstance(arguments, dict):
        return arguments
    raw = {"_raw": arguments if isinstance(arguments, str) else str(arguments)} if keep_raw else {}
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) and arguments.strip() else {}
    except ValueError:
        return raw
    return parsed if isinstance(parsed, dict) else raw


@dataclass(frozen=True)
class ToolCallPart:
    id: str
    name: str
    # The raw JSON text the model produced; parsed and validated by the loop, never trusted.
    arguments: str

    def parsed(self) -> Any:
        return json.loads(self.arguments) if self.arguments.strip() else {}


@dataclass(frozen=True)
class SystemMessage:
    text: str
    role: Literal["system"] = "system"


@dataclass(frozen=True)
class UserMessage:
    text: str
    role: Literal["user"] = "user"
    # Corrective messages from guards and compaction summaries are user messages the person did not type.
    synthetic: bool = False


@dataclass(frozen=True)
class AssistantMessage:
    text: str
    tool_calls: tuple[ToolCallPart, ...] = ()
    # Provider thinking blocks (Anthropic); replayed only to providers that accept them.
    thinking_blocks: tuple[dict[str, Any], ...] | None = None
    role: Literal["assistant"] = "assistant"


@dataclass(frozen=True)
class ToolResultMessage:
    call_id: str
    tool: str
    content: str
    ok: bool = True
    role: Literal["tool"] = "tool"


Message = SystemMessage | UserMessage | AssistantMessage | ToolResultMessage

ABORTED_RESULT = "Tool call aborted: the run was cancelled before this call finished. Nothing more ran."


TokenCounter = Callable[[Any], int]


class Transcript:
    """The messages of a session with a token count per message.

    With a counter set (a live session), each message is counted when it joins, so the loop knows the size of
    the next request before sending it. A replayed log is folded without one and counts its messages the first
    time the counts are read, so a resume counts nothing it does not need. Two transcripts are equal when their
    messages are; the counts are a cache of the current model's counter.
    """

    def __init__(self, messages: list[Message] | None = None, counter: TokenCounter | None = None) -> None:
        self.messages: list[Message] = list(messages or [])
        self._tokens: list[int | None] = [None] * len(self.messages)
        self._uncounted = len(self.messages)
        self.counter = counter

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Transcript) and self.messages == other.messages

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Transcript({len(self.messages)} messages)"

    def _count(self, message: Message, tokens: int | None) -> int | None:
        if tokens is None and self.counter is not None:
            return self.counter(message)
        return tokens

    def append(self, message: Message, tokens: int | None = None) -> None:
        tokens = self._count(message, tokens)
        self.messages.append(message)
        self._tokens.append(tokens)
        self._uncounted += tokens is None

    def replace(self, start: int, end: int, message: Message, tokens: int | None = None) -> None:
        tokens = self._count(message, tokens)
        self._uncounted -= sum(t is None for t in self._tokens[start:end])
        self.messages[start:end] = [message]
        self._tokens[start:end] = [tokens]
        self._uncounted += tokens is None

    def insert(self, index: int, message: Message, tokens: int | None = None) -> None:
        tokens = self._count(message, tokens)
        self.messages.insert(index, message)
        self._tokens.insert(index, tokens)
        self._uncounted += tokens is None

    @property
    def tokens(self) -> list[int]:
        if self._uncounted:
            counter = self.counter
            for i, count in enumerate(self._tokens):
                if count is None:
                    self._tokens[i] = counter(self.messages[i]) if counter is not None else 0
            self._uncounted = 0
        return self._tokens  # type: ignore[return-value]

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens)

    def __len__(self) -> int:
        return len(self.messages)

    def open_tool_calls(self) -> list[ToolCallPart]:
        """Tool calls of the last assistant message that have no result yet (in call order)."""
        answered: set[str] = set()
        for message in reversed(self.messages):
            if isinstance(message, ToolResultMessage):
                answered.add(message.call_id)
            elif isinstance(message, AssistantMessage):
                return [c for c in message.tool_calls if c.id not in answered]
            else:
                return []
        return []


def repair_dangling_calls(transcript: Transcript) -> list[ToolCallPart]:
    """Give every unanswered tool call an aborted result so the next model request is valid."""
    missing: list[ToolCallPart] = []
    index = 0
    while index < len(transcript.messages):
        message = transcript.messages[index]
        index += 1
        if not isinstance(message, AssistantMessage) or not message.tool_calls:
            continue
        answered: set[str] = set()
        while index < len(transcript.messages) and isinstance(transcript.messages[index], ToolResultMessage):
            answered.add(transcript.messages[index].call_id)  # type: ignore[union-attr]
            index += 1
        for call in message.tool_calls:
            if call.id not in answered:
                result = ToolResultMessage(call.id, call.name, ABORTED_RESULT, ok=False)
                transcript.insert(index, result, 0)
                index += 1
                missing.append(call)
    return missing
