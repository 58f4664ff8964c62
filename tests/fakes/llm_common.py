"""What the two LLM wire fakes share: scripted replies, a deterministic token estimate, a prompt-cache model,
and the refusal log the benchmark reads.

A ``Reply`` is what the fake "model" says next: text, an optional thinking/reasoning part, tool calls (arguments
as a dict or as raw text), and optionally an error event injected mid-stream. ``fake.script(...)`` queues
replies; ``fake.responder = fn(body) -> Reply`` decides from the request; with neither, the fake answers "ok".
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    # Anthropic: the thinking text streamed when the request enabled thinking (a default is used when None).
    thinking: str | None = None
    # OpenAI-style reasoning models: hidden reasoning tokens spent before the visible answer.
    reasoning_tokens: int | None = None
    # An error event sent after the first content delta: Anthropic error type or OpenAI error code.
    error_mid_stream: str | None = None


Responder = Callable[[dict[str, Any]], Reply]


def estimate_tokens(value: Any) -> int:
    """The fakes' tokenizer: about four characters a token over the JSON text (deterministic, offline)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return max(1, len(text) // 4)


def reply_tokens(reply: Reply) -> int:
    return estimate_tokens(reply.text) + sum(
        estimate_tokens(a if isinstance(a, str) else json.dumps(a)) + 8 for _, a in reply.tool_calls)


class Refusals:
    """Every request a fake refused with a 4xx, with the reason: the benchmark's "requests refused" figure."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def add(self, status: int, message: str) -> None:
        with self._lock:
            self.items.append((status, message))

    def __len__(self) -> int:
        with self._lock:
            return len(self.items)

    def messages(self) -> list[str]:
        with self._lock:
            return [m for _, m in self.items]


class PrefixCache:
    """Prompt caching by prefix: a prefix stored once is read back by later requests that start with it.

    ``blocks`` is the request serialised in the provider's prefix order (tools, system, messages), each with its
    token count. Anthropic caches only at marked breakpoints; OpenAI caches any prefix of at least 1,024 tokens
    in 128-token steps (automatic). Both have a minimum cacheable length.
    """

    def __init__(self, minimum: int = 1024) -> None:
        self.minimum = minimum
        self._stored: dict[str, int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(namespace: str, blocks: list[tuple[str, int]], upto: int) -> str:
        digest = hashlib.sha256(namespace.encode())
        for text, _ in blocks[:upto]:
            digest.update(hashlib.sha256(text.encode()).digest())
        return digest.hexdigest()

    def breakpoints(self, namespace: str, blocks: list[tuple[str, int]], marks: list[int]) -> tuple[int, int]:
        """Anthropic: (cache read, cache write) tokens for a request with breakpoints after the `marks` blocks."""
        sizes = [n for _, n in blocks]
        read = 0
        with self._lock:
            for mark in sorted(marks, reverse=True):
                if self._key(namespace, blocks, mark + 1) in self._stored:
                    read = sum(sizes[: mark + 1])
                    break
            written = 0
            for mark in sorted(marks):
                prefix = sum(sizes[: mark + 1])
                if prefix >= self.minimum:
                    self._stored.setdefault(self._key(namespace, blocks, mark + 1), prefix)
                    written = max(written, prefix)
        return read, max(0, written - read)

    def automatic(self, namespace: str, blocks: list[tuple[str, int]]) -> int:
        """OpenAI: cached tokens of the longest stored prefix, rounded down to 128; every prefix is stored."""
        sizes = [n for _, n in blocks]
        best = 0
        with self._lock:
            for end in range(len(blocks), 0, -1):
                if self._key(namespace, blocks, end) in self._stored:
                    best = sum(sizes[:end])
                    break
            total = 0
            for end in range(1, len(blocks) + 1):
                total += sizes[end - 1]
                if total >= self.minimum:
                    self._stored.setdefault(self._key(namespace, blocks, end), total)
        return (best // 128) * 128 if best >= self.minimum else 0


class ScriptQueue:
    """Replies queued by a test, else the responder, else a plain "ok"."""

    def __init__(self) -> None:
        self._queue: list[Reply | str] = []
        self._lock = threading.Lock()
        self.responder: Responder | None = None

    def script(self, *replies: Reply | str) -> None:
        with self._lock:
            self._queue.extend(replies)

    def next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            item = self._queue.pop(0) if self._queue else None
        if item is None:
            item = self.responder(body) if self.responder is not None else Reply(text="ok")
        return Reply(text=item) if isinstance(item, str) else item


class ScriptedReplies:
    """`fake.script(...)` and `fake.responder = fn` for a fake that keeps its replies in `self.replies`."""

    replies: ScriptQueue

    def script(self, *replies: Reply | str) -> None:
        self.replies.script(*replies)

    @property
    def responder(self) -> Responder | None:
        return self.replies.responder

    @responder.setter
    def responder(self, fn: Responder | None) -> None:
        self.replies.responder = fn


def sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()
