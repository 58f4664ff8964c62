"""FakeAnthropic: the Anthropic Messages API (``POST /v1/messages``), streaming and not, on loopback.

Wire format from anthropics/anthropic-sdk-python (``types/raw_*_event.py``, ``signature_delta.py``,
``message_delta_usage.py``, ``_streaming.py``, ``types/shared/*_error.py``) and the streaming docs: ``message_start``
(a Message with empty content and usage), ``ping``, per content block ``content_block_start`` /
``content_block_delta`` (``text_delta``, ``input_json_delta``, ``thinking_delta``, ``signature_delta`` just before
the block's stop) / ``content_block_stop``, then ``message_delta`` (stop_reason and cumulative usage including the
cache tokens) and ``message_stop``. Errors are ``{"type": "error", "error": {"type", "message"}, "request_id"}``
with the SDK's statuses (400 invalid_request_error, 401, 402 billing_error, 403, 404, 413, 429, 500, 529
overloaded_error); mid-stream errors arrive as an ``error`` event.

It refuses what the service refuses (each refusal is logged in ``fake.refusals``): a wrong key, more than 4
``cache_control`` blocks, empty text blocks or empty message content, a ``tool_result`` that does not answer a
``tool_use`` of the preceding assistant message (and a ``tool_use`` left unanswered), tool names outside
``^[a-zA-Z0-9_-]{1,64}$``, an ``input_schema`` that is not an object schema, thinking blocks whose signature does
not match their text (replayed changed or split), a tool-use turn that drops its thinking while thinking is
on, thinking budgets at or above ``max_tokens``, and prompts over the model's window ("prompt is too long").
route: anthropic.messages
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from ._server import FakeServer, HTTPError, RecordedRequest, json_body
from .llm_common import PrefixCache, Refusals, Reply, ScriptedReplies, ScriptQueue, estimate_tokens, reply_tokens, sse

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 504: "timeout_error", 529: "overloaded_error"}
DEFAULT_THINKING = "The person wants the next step; check what the tools returned before acting."


class FakeAnthropic(ScriptedReplies, FakeServer):
    def __init__(self, *, api_key: str = "sk-ant-fake-key-0000", window: int = 200_000,
                 no_thinking_models: tuple[str, ...] = ("claude-3-5-haiku",)) -> None:
        self.api_key = api_key
        self.window = window
        self.no_thinking_models = no_thinking_models
        self.replies = ScriptQueue()
        self.refusals = Refusals()
        self.cache = PrefixCache(minimum=1024)
        # What each answered request was billed, as the service reports it: the benchmark compares against this.
        self.usage_log: list[dict[str, int]] = []
        self._secret = b"fake-anthropic-signing-key"
        self._ids = itertools.count(1)
        super().__init__()

    def _setup_routes(self) -> None:
        self.add("POST", r"/v1/messages", self._messages, "anthropic.messages")

    def error_response(self, status: int, message: str | None = None, headers: dict[str, str] | None = None
                       ) -> Response:
        kind = ERROR_TYPES.get(status, "api_error")
        default = {529: "Overloaded", 429: "Number of request tokens has exceeded your per-minute rate limit",
                   402: "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing "
                        "to upgrade or purchase credits."}.get(status, "Error")
        body = {"type": "error", "error": {"type": kind, "message": message or default},
                "request_id": f"req_fake{next(self._ids):06d}"}
        return JSONResponse(body, status_code=status, headers=headers)

    def refuse(self, message: str, status: int = 400) -> HTTPError:
        self.refusals.add(status, message)
        return HTTPError(status, response=self.error_response(status, message))

    def signature(self, thinking: str) -> str:
        return base64.b64encode(hmac.new(self._secret, thinking.encode(), hashlib.sha256).digest()).decode()

    # ---- validation ---------------------------------------------------------------------------------

    def _validate(self, rec: RecordedRequest, body: dict[str, Any]) -> None:
        if rec.headers.get("x-api-key") != self.api_key:
            raise self.refuse("invalid x-api-key", 401)
        if not rec.headers.get("anthropic-version"):
            raise self.refuse("anthropic-version: header is required")
        if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
            raise self.refuse("max_tokens: Field required")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise self.refuse("messages: at least one message is required")
        self._validate_tools(body.get("tools") or [])
        self._validate_cache_control(body)
        self._validate_system(body.get("system"))
        thinking = body.get("thinking") or {}
        enabled = thinking.get("type") in ("enabled", "adaptive")
        if enabled:
            model = str(body.get("model", ""))
            if any(model.startswith(m) for m in self.no_thinking_models):
                raise self.refuse(f"thinking: '{model}' does not support extended thinking.")
            budget = thinking.get("budget_tokens")
            if thinking.get("type") == "enabled" and (not isinstance(budget, int) or budget < 1024):
                raise self.refuse("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
            if isinstance(budget, int) and budget >= body["max_tokens"]:
                raise self.refuse("`max_tokens` must be greater than `thinking.budget_tokens`.")
            if body.get("temperature") not in (None, 1, 1.0):
                raise self.refuse("`temperature` may only be set to 1 when thinking is enabled.")
            choice = (body.get("tool_choice") or {}).get("type")
            if choice not in (None, "auto", "none"):
                raise self.refuse("Thinking may not be enabled when tool_choice forces tool use.")
        previous: dict[str, Any] | None = None
        for i, message in enumerate(messages):
            self._validate_message(i, message, previous, last=i == len(messages) - 1)
            previous = message
        if enabled:
            self._validate_final_assistant_thinking(messages)
        size = self._input_tokens(body)
        if size > self.window:
            raise self.refuse(f"prompt is too long: {size} tokens > {self.window} maximum")

    def _validate_tools(self, tools: list[dict[str, Any]]) -> None:
        for i, tool in enumerate(tools):
            name = tool.get("name", "")
            if not isinstance(name, str) or not TOOL_NAME.match(name):
                raise self.refuse(f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
            schema = tool.get("input_schema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise self.refuse(f"tools.{i}.custom.input_schema.type: Input should be 'object'")

    @staticmethod
    def cache_marks(block: Any) -> int:
        """Breakpoints in a block: its own `cache_control` and those of the blocks inside a tool_result."""
        if not isinstance(block, dict):
            return 0
        inner = block.get("content") if isinstance(block.get("content"), list) else []
        return int(bool(block.get("cache_control"))) + sum(
            1 for b in inner if isinstance(b, dict) and b.get("cache_control"))

    def _validate_cache_control(self, body: dict[str, Any]) -> None:
        found = sum(1 for t in body.get("tools") or [] if t.get("cache_control"))
        system = body.get("system")
        if isinstance(system, list):
            found += sum(self.cache_marks(b) for b in system)
        for message in body["messages"]:
            content = message.get("content")
            if isinstance(content, list):
                found += sum(self.cache_marks(b) for b in content)
        if found > 4:
            raise self.refuse(f"A maximum of 4 blocks with cache_control may be provided. Found {found}.")

    def _validate_system(self, system: Any) -> None:
        if isinstance(system, list):
            for i, block in enumerate(system):
                if block.get("type") != "text" or not block.get("text"):
                    raise self.refuse(f"system.{i}: text content blocks must be non-empty")

    def _validate_message(self, i: int, message: dict[str, Any], previous: dict[str, Any] | None,
                          last: bool) -> None:
        role, content = message.get("role"), message.get("content")
        if role not in ("user", "assistant"):
            raise self.refuse(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if content in ("", [], None) and not (last and role == "assistant"):
            raise self.refuse(f"messages.{i}: all messages must have non-empty content except for the optional "
                              "final assistant message")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
        for j, block in enumerate(blocks):
            kind = block.get("type")
            if kind == "text" and not block.get("text"):
                raise self.refuse(f"messages.{i}.content.{j}.text: text content blocks must be non-empty")
            if kind == "thinking" and block.get("signature") != self.signature(block.get("thinking", "")):
                raise self.refuse(f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block")
            if kind == "tool_result":
                asked = {b.get("id") for b in (previous or {}).get("content") or [] if isinstance(b, dict)
                         and b.get("type") == "tool_use"} if (previous or {}).get("role") == "assistant" else set()
                if block.get("tool_use_id") not in asked:
                    raise self.refuse(f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                                      f"blocks: {block.get('tool_use_id')}. Each `tool_result` block must have a "
                                      "corresponding `tool_use` block in the previous message.")
        if previous is not None and previous.get("role") == "assistant" and isinstance(previous.get("content"), list):
            asked = [b.get("id") for b in previous["content"] if b.get("type") == "tool_use"]
            answered = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
            missing = [a for a in asked if a not in answered]
            if missing:
                raise self.refuse(f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks "
                                  f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                                  "corresponding `tool_result` block in the next message.")

    def _validate_final_assistant_thinking(self, messages: list[dict[str, Any]]) -> None:
        """With thinking on, the assistant turn that started the current tool loop must open with its thinking."""
        for i in range(len(messages) - 1, -1, -1):
            message = messages[i]
            content = message.get("content")
            if message.get("role") == "user" and isinstance(content, list) and all(
                    b.get("type") == "tool_result" for b in content):
                continue
            if message.get("role") == "assistant" and isinstance(content, list) and any(
                    b.get("type") == "tool_use" for b in content) and content[0].get("type") not in (
                    "thinking", "redacted_thinking"):
                raise self.refuse(
                    f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
                    f"`{content[0].get('type')}`. When `thinking` is enabled, a final `assistant` message must "
                    "start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` "
                    "blocks).")
            return

    # ---- usage --------------------------------------------------------------------------------------

    @classmethod
    def _blocks(cls, body: dict[str, Any]) -> tuple[list[tuple[str, int]], list[int]]:
        """The request in prefix order (tools, system, messages) with the indices of cache breakpoints."""
        items: list[dict[str, Any]] = list(body.get("tools") or [])
        system = body.get("system")
        if isinstance(system, str):
            items.append({"type": "text", "text": system})
        elif isinstance(system, list):
            items.extend(system)
        for message in body["messages"]:
            content = message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
            items.extend({**b, "_role": message.get("role")} for b in blocks)
        out, marks = [], []
        for index, item in enumerate(items):
            clean = cls._canonical(item)
            out.append((json.dumps(clean, sort_keys=True), estimate_tokens(clean)))
            if cls.cache_marks(item):
                marks.append(index)
        return out, marks

    @classmethod
    def _canonical(cls, value: Any) -> Any:
        """What the model reads: breakpoints removed, a string content the same as one text block."""
        if isinstance(value, list):
            return [cls._canonical(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {k: cls._canonical(v) for k, v in value.items() if k != "cache_control"}
        if out.get("type") == "tool_result" and isinstance(out.get("content"), str):
            out["content"] = [{"type": "text", "text": out["content"]}]
        return out

    def _input_tokens(self, body: dict[str, Any]) -> int:
        return sum(n for _, n in self._blocks(body)[0])

    def _usage(self, body: dict[str, Any]) -> dict[str, int]:
        blocks, marks = self._blocks(body)
        total = sum(n for _, n in blocks)
        read, write = self.cache.breakpoints(str(body.get("model")), blocks, marks)
        return {"input_tokens": total - read - write, "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read}

    # ---- answering ----------------------------------------------------------------------------------

    def _content(self, body: dict[str, Any], reply: Reply) -> tuple[list[dict[str, Any]], str, int]:
        """The answer's content blocks, its stop reason and output tokens, cut at max_tokens like the service."""
        budget = body["max_tokens"]
        blocks: list[dict[str, Any]] = []
        thinking_on = (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
        if thinking_on:
            text = reply.thinking if reply.thinking is not None else DEFAULT_THINKING
            blocks.append({"type": "thinking", "thinking": text, "signature": self.signature(text)})
        if reply.text:
            blocks.append({"type": "text", "text": reply.text})
        for name, arguments in reply.tool_calls:
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            blocks.append({"type": "tool_use", "id": f"toolu_{next(self._ids):06d}", "name": name, "_raw": raw})
        used, out = 0, []
        for block in blocks:
            size = estimate_tokens(block.get("thinking") or block.get("text") or block.get("_raw") or "")
            if used + size > budget:
                left = max(0, (budget - used) * 4)
                if block["type"] == "tool_use":
                    out.append({**block, "_raw": block["_raw"][:left], "_cut": True})
                elif block["type"] == "text":
                    out.append({**block, "text": block["text"][:left] or "…"})
                return out, "max_tokens", budget
            used += size
            out.append(block)
        stop = "tool_use" if any(b["type"] == "tool_use" for b in out) else "end_turn"
        return out, stop, max(1, used if out else reply_tokens(reply))

    def _messages(self, rec: RecordedRequest) -> Response:
        body = json_body(rec)
        self._validate(rec, body)
        reply = self.replies.next(body)
        usage = self._usage(body)
        blocks, stop_reason, output_tokens = self._content(body, reply)
        self.usage_log.append({**usage, "output_tokens": output_tokens})
        message_id = f"msg_fake{next(self._ids):06d}"
        if not body.get("stream"):
            content = [self._final_block(b) for b in blocks]
            return JSONResponse({"id": message_id, "type": "message", "role": "assistant", "model": body["model"],
                                 "content": content, "stop_reason": stop_reason, "stop_sequence": None,
                                 "usage": {**usage, "output_tokens": output_tokens}})
        return StreamingResponse(self._events(body, message_id, blocks, stop_reason, usage, output_tokens, reply),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @staticmethod
    def _final_block(block: dict[str, Any]) -> dict[str, Any]:
        if block["type"] != "tool_use":
            return block
        try:
            parsed = json.loads(block["_raw"] or "{}")
        except ValueError:
            parsed = {}
        return {"type": "tool_use", "id": block["id"], "name": block["name"], "input": parsed}

    def _events(self, body: dict[str, Any], message_id: str, blocks: list[dict[str, Any]], stop_reason: str,
                usage: dict[str, int], output_tokens: int, reply: Reply) -> Iterator[bytes]:
        start_usage = {**usage, "output_tokens": 1}
        yield sse({"type": "message_start", "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": body["model"], "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": start_usage}}, "message_start")
        yield sse({"type": "ping"}, "ping")
        for index, block in enumerate(blocks):
            yield from self._block_events(index, block)
            if reply.error_mid_stream and index == 0:
                message = {"overloaded_error": "Overloaded", "api_error": "Internal server error"}.get(
                    reply.error_mid_stream, reply.error_mid_stream)
                yield sse({"type": "error", "error": {"type": reply.error_mid_stream, "message": message}}, "error")
                return
        yield sse({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                   "usage": {**usage, "output_tokens": output_tokens}}, "message_delta")
        yield sse({"type": "message_stop"}, "message_stop")

    @staticmethod
    def _pieces(text: str, size: int = 24) -> list[str]:
        return [text[i:i + size] for i in range(0, len(text), size)] or [""]

    def _block_events(self, index: int, block: dict[str, Any]) -> Iterator[bytes]:
        kind = block["type"]
        if kind == "thinking":
            yield sse({"type": "content_block_start", "index": index,
                       "content_block": {"type": "thinking", "thinking": "", "signature": ""}}, "content_block_start")
            for piece in self._pieces(block["thinking"]):
                yield sse({"type": "content_block_delta", "index": index,
                           "delta": {"type": "thinking_delta", "thinking": piece}}, "content_block_delta")
            yield sse({"type": "content_block_delta", "index": index,
                       "delta": {"type": "signature_delta", "signature": block["signature"]}}, "content_block_delta")
        elif kind == "text":
            yield sse({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
                      "content_block_start")
            for piece in self._pieces(block["text"], max(24, len(block["text"]) // 40)):
                yield sse({"type": "content_block_delta", "index": index,
                           "delta": {"type": "text_delta", "text": piece}}, "content_block_delta")
        else:
            yield sse({"type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}}, "content_block_start")
            for piece in self._pieces(block["_raw"], max(16, len(block["_raw"]) // 40)) if block["_raw"] else []:
                yield sse({"type": "content_block_delta", "index": index,
                           "delta": {"type": "input_json_delta", "partial_json": piece}}, "content_block_delta")
        yield sse({"type": "content_block_stop", "index": index}, "content_block_stop")
