"""FakeOpenAIChat: the OpenAI Chat Completions API (``POST /v1/chat/completions``) on loopback, in three flavours.

* ``openai``: api.openai.com itself. Reasoning models (``gpt-5*``, ``o*``) take ``reasoning_effort`` and
  ``max_completion_tokens`` (``max_tokens`` is refused), spend hidden reasoning tokens before the visible answer
  (an allowance eaten by reasoning gives empty content and ``finish_reason: "length"``) and report them in
  ``completion_tokens_details.reasoning_tokens``; other models refuse ``reasoning_effort``.
* ``router``: the Hugging Face router's OpenAI-compatible path (ids ``org/model`` or ``org/model:provider``, an
  ``hf_...`` bearer token, the ``X-HF-Session-id`` header recorded). Reasoning models take ``reasoning_effort``
  low/medium/high; parameters only OpenAI itself takes (``prompt_cache_key``, ...) are refused.
* ``local``: a vLLM / llama.cpp / Ollama / LM Studio server: any key, no ``reasoning_effort``, and the chat
  template's rule that two user messages may not follow each other.

Wire format from openai/openai-python (``types/chat/chat_completion_chunk.py``, ``types/completion_usage.py``,
``_streaming.py``): chunks ``{"id", "object": "chat.completion.chunk", "created", "model", "choices": [{"index",
"delta": {"role", "content", "tool_calls": [{"index", "id", "type", "function": {"name", "arguments"}}]},
"finish_reason"}]}``, tool-call deltas by index (id and name once, arguments in pieces), with
``stream_options.include_usage`` a last chunk with empty ``choices`` and ``usage`` (``prompt_tokens_details.
cached_tokens``), then ``data: [DONE]``. Errors: ``{"error": {"message", "type", "param", "code"}}``; mid-stream
errors are a ``data: {"error": {...}}`` line.

Refusals (logged in ``fake.refusals``): a wrong key, tool names outside ``^[a-zA-Z0-9_-]{1,64}$``, descriptions over
1,024 characters, parameters that are not an object JSON schema, a ``tool`` message that does not answer a call of
the preceding assistant message, calls left unanswered, unsupported parameters or values, and prompts over the
window ("This model's maximum context length is N tokens"). route: openai.chat
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator
from typing import Any, Literal

from starlette.responses import JSONResponse, Response, StreamingResponse

from ._server import FakeServer, HTTPError, RecordedRequest, json_body
from .llm_common import PrefixCache, Refusals, Reply, ScriptedReplies, ScriptQueue, estimate_tokens, sse

Flavour = Literal["openai", "router", "local"]
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
STANDARD = frozenset({"model", "messages", "stream", "stream_options", "tools", "tool_choice", "max_tokens",
                      "temperature", "top_p", "n", "stop", "presence_penalty", "frequency_penalty", "seed", "user",
                      "response_format", "parallel_tool_calls", "logprobs", "top_logprobs", "logit_bias"})
OPENAI_ONLY = frozenset({"max_completion_tokens", "reasoning_effort", "prompt_cache_key", "prompt_cache_retention",
                         "store", "metadata", "service_tier", "verbosity", "modalities", "prediction"})
EFFORT_BY_TOKENS = {"minimal": 0, "low": 256, "medium": 1024, "high": 3072}


class FakeOpenAIChat(ScriptedReplies, FakeServer):
    def __init__(self, *, flavour: Flavour = "openai", api_key: str | None = None, window: int = 128_000,
                 reasoning_models: tuple[str, ...] | None = None,
                 efforts: tuple[str, ...] = ("minimal", "low", "medium", "high")) -> None:
        self.flavour = flavour
        self.api_key = api_key or {"openai": "sk-fake-openai-0000", "router": "hf_fakerouter0000",
                                   "local": None}[flavour]
        self.window = window
        self.reasoning_models = reasoning_models if reasoning_models is not None else (
            ("gpt-5", "o3", "o4") if flavour == "openai" else ())
        self.efforts = efforts
        self.replies = ScriptQueue()
        self.refusals = Refusals()
        self.cache = PrefixCache(minimum=1024)
        self.usage_log: list[dict[str, int]] = []
        self._ids = itertools.count(1)
        super().__init__()

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def _setup_routes(self) -> None:
        self.add("POST", r"/v1/chat/completions", self._chat, "openai.chat")

    def error_response(self, status: int, message: str | None = None, headers: dict[str, str] | None = None,
                       *, param: str | None = None, code: str | None = None, kind: str | None = None) -> Response:
        defaults = {429: ("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
                    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
                    402: ("You have depleted your monthly included credits. Purchase pre-paid credits to continue "
                          "using Inference Providers.", "billing_error", None),
                    404: ("The model does not exist or you do not have access to it.", "invalid_request_error",
                          "model_not_found"),
                    500: ("The server had an error while processing your request.", "server_error", None),
                    503: ("The engine is currently overloaded, please try again later.", "server_error", None)}
        text, default_kind, default_code = defaults.get(status, ("Bad request", "invalid_request_error", None))
        body = {"error": {"message": message or text, "type": kind or default_kind, "param": param,
                          "code": code or default_code}}
        return JSONResponse(body, status_code=status, headers=headers)

    def refuse(self, message: str, *, param: str | None = None, code: str | None = None, status: int = 400
               ) -> HTTPError:
        self.refusals.add(status, message)
        return HTTPError(status, response=self.error_response(status, message, param=param, code=code))

    # ---- validation ---------------------------------------------------------------------------------

    def _is_reasoning(self, model: str) -> bool:
        bare = model.split("/")[-1].split(":")[0]
        return any(bare.startswith(m) or model.startswith(m) for m in self.reasoning_models)

    def _validate(self, rec: RecordedRequest, body: dict[str, Any]) -> None:
        if self.api_key is not None and rec.headers.get("authorization") != f"Bearer {self.api_key}":
            raise self.refuse("Incorrect API key provided.", code="invalid_api_key", status=401)
        model = str(body.get("model", ""))
        allowed = STANDARD | (OPENAI_ONLY if self.flavour == "openai" else {"reasoning_effort"}
                              if self.flavour == "router" else set())
        for key in body:
            if key not in allowed:
                raise self.refuse(f"Unrecognized request argument supplied: {key}", param=key,
                                  code="unsupported_parameter")
        reasoning = self._is_reasoning(model)
        if "reasoning_effort" in body:
            if not reasoning:
                raise self.refuse("Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                                  param="reasoning_effort", code="unsupported_parameter")
            if body["reasoning_effort"] not in self.efforts:
                raise self.refuse(f"Unsupported value: 'reasoning_effort' does not support "
                                  f"{body['reasoning_effort']!r} with this model. Supported values are: "
                                  f"{', '.join(repr(e) for e in self.efforts)}.", param="reasoning_effort",
                                  code="unsupported_value")
        if reasoning and self.flavour == "openai" and "max_tokens" in body:
            raise self.refuse("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                              "'max_completion_tokens' instead.", param="max_tokens", code="unsupported_parameter")
        self._validate_tools(body.get("tools") or [])
        self._validate_messages(body.get("messages"))
        size = self._prompt_tokens(body)
        if size > self.window:
            raise self.refuse(f"This model's maximum context length is {self.window} tokens. However, your messages "
                              f"resulted in {size} tokens. Please reduce the length of the messages.",
                              param="messages", code="context_length_exceeded")

    def _validate_tools(self, tools: list[dict[str, Any]]) -> None:
        for i, tool in enumerate(tools):
            function = tool.get("function") or {}
            name = function.get("name", "")
            if not isinstance(name, str) or not TOOL_NAME.match(name):
                raise self.refuse(f"Invalid 'tools[{i}].function.name': string does not match pattern. Expected a "
                                  "string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                                  param=f"tools[{i}].function.name", code="invalid_value")
            if len(name) > 64:
                raise self.refuse(f"Invalid 'tools[{i}].function.name': string too long. Expected a string with "
                                  f"maximum length 64, but got a string with length {len(name)} instead.",
                                  param=f"tools[{i}].function.name", code="string_above_max_length")
            description = function.get("description") or ""
            if len(description) > 1024:
                raise self.refuse(f"Invalid 'tools[{i}].function.description': string too long. Expected a string "
                                  f"with maximum length 1024, but got a string with length {len(description)} "
                                  "instead.", param=f"tools[{i}].function.description",
                                  code="string_above_max_length")
            parameters = function.get("parameters", {"type": "object", "properties": {}})
            if not isinstance(parameters, dict) or parameters.get("type") != "object":
                got = parameters.get("type") if isinstance(parameters, dict) else type(parameters).__name__
                raise self.refuse(f"Invalid schema for function '{name}': schema must be a JSON Schema of "
                                  f"'type: \"object\"', got 'type: \"{got}\"'.", param=f"tools[{i}].function.parameters",
                                  code="invalid_function_parameters")

    def _validate_messages(self, messages: Any) -> None:
        if not isinstance(messages, list) or not messages:
            raise self.refuse("[] is too short - 'messages'", param="messages")
        open_calls: list[str] = []
        previous_role = None
        for i, message in enumerate(messages):
            role = message.get("role")
            if role == "tool":
                if message.get("tool_call_id") not in open_calls:
                    raise self.refuse("Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                                      "message with 'tool_calls'.", param=f"messages.[{i}].role")
                open_calls.remove(message["tool_call_id"])
            else:
                if open_calls:
                    raise self.refuse("An assistant message with 'tool_calls' must be followed by tool messages "
                                      "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                                      f"response messages: {', '.join(open_calls)}", param="messages")
                if role == "assistant":
                    open_calls = [c.get("id") for c in message.get("tool_calls") or []]
                elif role not in ("system", "user", "developer"):
                    raise self.refuse(f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', "
                                      "'user', 'tool', 'developer'.", param=f"messages[{i}].role")
            if self.flavour == "local" and role == "user" and previous_role == "user":
                raise self.refuse("Conversation roles must alternate user/assistant/user/assistant/...")
            previous_role = role
        if open_calls:
            raise self.refuse("An assistant message with 'tool_calls' must be followed by tool messages responding to "
                              f"each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                              f"{', '.join(open_calls)}", param="messages")

    # ---- usage --------------------------------------------------------------------------------------

    @staticmethod
    def _blocks(body: dict[str, Any]) -> list[tuple[str, int]]:
        items = [*(body.get("tools") or []), *body["messages"]]
        return [(json.dumps(i, sort_keys=True), estimate_tokens(i)) for i in items]

    def _prompt_tokens(self, body: dict[str, Any]) -> int:
        return sum(n for _, n in self._blocks(body))

    # ---- answering ----------------------------------------------------------------------------------

    def _chat(self, rec: RecordedRequest) -> Response:
        body = json_body(rec)
        self._validate(rec, body)
        reply = self.replies.next(body)
        model = str(body["model"])
        prompt = self._prompt_tokens(body)
        cached = self.cache.automatic(str(body.get("prompt_cache_key") or model), self._blocks(body))
        reasoning = 0
        if self._is_reasoning(model):
            effort = body.get("reasoning_effort") or "medium"
            reasoning = reply.reasoning_tokens if reply.reasoning_tokens is not None else EFFORT_BY_TOKENS.get(
                effort, 1024)
        allowance = body.get("max_completion_tokens") or body.get("max_tokens") or 1_000_000
        text, calls, finish = reply.text, list(reply.tool_calls), "tool_calls" if reply.tool_calls else "stop"
        visible = max(0, allowance - reasoning)
        if estimate_tokens(text) + sum(estimate_tokens(json.dumps(a)) for _, a in calls) > visible or reasoning >= allowance:
            text, calls, finish = self._cut(text, calls, visible * 4)
        completion = min(allowance, reasoning + (estimate_tokens(text) if text else 0) + sum(
            estimate_tokens(a if isinstance(a, str) else json.dumps(a)) for _, a in calls))
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                 "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                 "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                               "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
        self.usage_log.append({"prompt_tokens": prompt, "completion_tokens": completion, "cached_tokens": cached})
        completion_id = f"chatcmpl-fake{next(self._ids):06d}"
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if calls:
                message["tool_calls"] = [{"id": f"call_{next(self._ids):06d}", "type": "function", "function": {
                    "name": n, "arguments": a if isinstance(a, str) else json.dumps(a)}} for n, a in calls]
            return JSONResponse({"id": completion_id, "object": "chat.completion", "created": int(time.time()),
                                 "model": model, "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                 "usage": usage})
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(self._chunks(completion_id, model, text, calls, finish, usage, include_usage, reply),
                                 media_type="text/event-stream")

    @staticmethod
    def _cut(text: str, calls: list[tuple[str, Any]], chars: int) -> tuple[str, list[tuple[str, Any]], str]:
        """Output cut at the completion allowance: the text, then the calls, the last one mid-arguments."""
        out_text = text[:chars]
        left = chars - len(out_text)
        out_calls: list[tuple[str, Any]] = []
        for name, arguments in calls:
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            if left <= 0:
                break
            out_calls.append((name, raw[:left]))
            left -= len(raw)
        return out_text, out_calls, "length"

    def _chunks(self, completion_id: str, model: str, text: str, calls: list[tuple[str, Any]], finish: str,
                usage: dict[str, Any], include_usage: bool, reply: Reply) -> Iterator[bytes]:
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            return sse({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                        "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                                      "finish_reason": finish_reason}],
                        **({"usage": None} if include_usage else {})})

        yield chunk({"role": "assistant", "content": ""})
        for start in range(0, len(text), 24):
            yield chunk({"content": text[start:start + 24]})
            if reply.error_mid_stream and start == 0:
                yield sse({"error": {"message": "The server had an error processing your request.",
                                     "type": "server_error", "param": None, "code": reply.error_mid_stream}})
                return
        for index, (name, arguments) in enumerate(calls):
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            yield chunk({"tool_calls": [{"index": index, "id": f"call_{next(self._ids):06d}", "type": "function",
                                         "function": {"name": name, "arguments": ""}}]})
            for start in range(0, len(raw), 16):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": raw[start:start + 16]}}]})
        yield chunk({}, finish)
        if include_usage:
            yield sse({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                       "system_fingerprint": "fp_fake", "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"
