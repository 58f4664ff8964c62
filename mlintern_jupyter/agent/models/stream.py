"""Assembling a streamed answer from litellm's chunks: text, tool calls by index, thinking blocks by index.

litellm hands Anthropic thinking over fragment by fragment (`{"type": "thinking", "thinking": "...", "index": i}`)
and the signature last, in a fragment with empty text. Stored per fragment, the replay sent a signature beside
an empty text and the provider answered "Invalid signature in thinking block" from the second call on. So
fragments are joined per block index and a block is kept only once its signature arrived.
"""

from __future__ import annotations

from typing import Any

from ..messages import ToolCallPart


def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, dict) else getattr(obj, key, default)


class ToolCallAssembler:
    """Joins streamed tool-call fragments by their index (ids and names arrive once, arguments in pieces)."""

    def __init__(self) -> None:
        self.parts: dict[int, dict[str, str]] = {}

    def add(self, delta_calls: Any) -> None:
        for fragment in delta_calls or ():
            index = _get(fragment, "index")
            index = len(self.parts) if index is None else index
            slot = self.parts.setdefault(index, {"id": "", "name": "", "arguments": ""})
            if _get(fragment, "id"):
                slot["id"] = _get(fragment, "id")
            function = _get(fragment, "function")
            if function is not None:
                if _get(function, "name"):
                    slot["name"] = _get(function, "name")
                if _get(function, "arguments"):
                    slot["arguments"] += _get(function, "arguments")

    def calls(self) -> tuple[ToolCallPart, ...]:
        return tuple(
            ToolCallPart(slot["id"] or f"call_{index}", slot["name"], slot["arguments"])
            for index, slot in sorted(self.parts.items())
        )


class ThinkingAssembler:
    def __init__(self) -> None:
        self.blocks: dict[int, dict[str, Any]] = {}

    def add(self, fragments: Any) -> None:
        for fragment in fragments or ():
            kind = _get(fragment, "type")
            index = _get(fragment, "index")
            index = len(self.blocks) if index is None else int(index)
            if kind == "redacted_thinking":
                self.blocks[index] = {"type": "redacted_thinking", "data": _get(fragment, "data") or ""}
                continue
            block = self.blocks.setdefault(index, {"type": "thinking", "thinking": "", "signature": ""})
            block["thinking"] += _get(fragment, "thinking") or ""
            if _get(fragment, "signature"):
                block["signature"] = _get(fragment, "signature")

    def complete(self) -> tuple[dict[str, Any], ...] | None:
        done = [b for _, b in sorted(self.blocks.items())
                if (b["type"] == "thinking" and b["signature"]) or (b["type"] == "redacted_thinking" and b["data"])]
        return tuple(done) or None


class StreamAssembler:
    """Everything one streamed response said, as litellm delivered it."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls = ToolCallAssembler()
        self.thinking = ThinkingAssembler()
        self.finish_reason = "stop"
        self.usage: Any = None

    def add(self, chunk: Any) -> str:
        """Take one chunk; returns its new visible text (for streaming deltas)."""
        self.usage = _get(chunk, "usage") or self.usage
        new = ""
        for choice in _get(chunk, "choices") or ():
            delta = _get(choice, "delta")
            if delta is not None:
                content = _get(delta, "content")
                if content:
                    self.text.append(content)
                    new += content
                self.calls.add(_get(delta, "tool_calls"))
                self.thinking.add(_get(delta, "thinking_blocks"))
            if _get(choice, "finish_reason"):
                self.finish_reason = _get(choice, "finish_reason")
        return new


def usage_from(raw: Any) -> tuple[int, int, int, int]:
    """(prompt, completion, cache read, cache write) from an OpenAI- or Anthropic-shaped usage block."""
    if raw is None:
        return 0, 0, 0, 0
    details = _get(raw, "prompt_tokens_details") or {}
    cache_read = _get(raw, "cache_read_input_tokens") or _get(details, "cached_tokens") or 0
    cache_write = _get(raw, "cache_creation_input_tokens") or _get(details, "cache_creation_tokens") or 0
    return int(_get(raw, "prompt_tokens") or 0), int(_get(raw, "completion_tokens") or 0), int(cache_read), int(
        cache_write)
