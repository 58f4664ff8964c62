"""The litellm adapter: the only module that imports litellm (on a background thread at `%load_ext`, else on
first use).

A model id is first routed (`routes.py`: direct Anthropic / OpenAI, the Hugging Face router, a local server, or
any other litellm provider passed unchanged, so `litellm.custom_provider_map` providers work like built-in ones),
then each request is shaped for that endpoint: tools fitted to its limits, thinking replayed only to Anthropic,
effort and cache hints in the form the endpoint takes, and litellm's own retries off (ours are visible).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from ..messages import Message
from .base import DeltaCallback, ModelConfigError, ModelResponse, ModelSettings, ModelUsage, approximate_tokens
from .routes import LOCAL_SERVERS, Route, resolve_route
from .stream import StreamAssembler, usage_from
from .wire import (
    OPENAI_DESCRIPTION_LIMIT,
    ToolNames,
    fit_tools,
    opens_tool_loop_without_thinking,
    to_wire_messages,
)

# Stated fallbacks when litellm's model map does not know the model's input window (a refusal naming the real
# window replaces them for the session).
FALLBACK_CONTEXT_WINDOW = 128_000
LOCAL_CONTEXT_WINDOW = 32_768
# Tokenizer for models litellm would otherwise fetch a tokenizer for from huggingface.co on every count.
OFFLINE_TOKENIZER_MODEL = "gpt-4o"
TOKEN_CACHE_SIZE = 4096
_LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm")

_import_lock = threading.Lock()
_notices: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("litellm_notices", default=None)


class _NoticeHandler(logging.Handler):
    """litellm's warnings become notices of the request that caused them, never lines on the notebook's stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _notices.get()
        if sink is not None and record.levelno >= logging.WARNING:
            try:
                sink.append(f"litellm: {record.getMessage()}"[:500])
            except Exception:  # noqa: BLE001 - a malformed log record is not worth a failure
                pass


def _litellm() -> Any:
    # The bundled price map: litellm otherwise tries to download it at import (5 s timeout offline).
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    with _import_lock:
        import litellm

        if not getattr(litellm, "_mlintern_configured", False):
            litellm.suppress_debug_info = True
            handler = _NoticeHandler()
            for name in _LITELLM_LOGGERS:
                logger = logging.getLogger(name)
                logger.handlers = [handler]
                logger.propagate = False
                logger.setLevel(logging.WARNING)
            litellm._mlintern_configured = True
    return litellm


def _warm_up() -> None:
    """Import litellm, then take the first call's one-time costs (the tokenizer, litellm's lazily imported provider
    modules: about 1 s more) with a mock answer: no network, no key, nothing recorded."""
    litellm = _litellm()
    try:
        litellm.token_counter(model=OFFLINE_TOKENIZER_MODEL, messages=[{"role": "user", "content": "warm up"}])

        async def mock_stream() -> None:
            tool = {"type": "function", "function": {"name": "t", "description": "d",
                                                     "parameters": {"type": "object", "properties": {}}}}
            stream = await litellm.acompletion(model="openai/gpt-4o", api_key="mock", mock_response="ok",
                                               messages=[{"role": "user", "content": "warm up"}], tools=[tool],
                                               stream=True, stream_options={"include_usage": True})
            async for _ in stream:
                pass

        asyncio.run(mock_stream())
    except Exception:  # noqa: BLE001 - a warm-up that fails only means the first call pays the cost itself
        pass


def preload() -> threading.Thread:
    """Import and warm up litellm on a daemon thread so the first `%%intern` does not wait for it (about 5 s)."""
    thread = threading.Thread(target=_warm_up, name="mlintern-litellm-import", daemon=True)
    thread.start()
    return thread


def _providers() -> set[str]:
    litellm = _litellm()
    custom = {p.get("provider") for p in (litellm.custom_provider_map or []) if isinstance(p, dict)}
    return {str(getattr(p, "value", p)) for p in litellm.provider_list} | {str(p) for p in custom if p}


def content_key(message: Message) -> str:
    """A token count is cached by what the message says, never by its object id (ids are reused after a free)."""
    wire = to_wire_messages([message], keep_thinking=False)
    return hashlib.sha256(json.dumps([type(message).__name__, wire], sort_keys=True).encode()).hexdigest()


class LiteLLMModel:
    offline = False

    def __init__(self, name: str, api_base: str | None = None, **extra: Any) -> None:
        self.route: Route = resolve_route(name, api_base, providers=_providers)
        self.extra = extra
        # Turned off when the provider refuses a replayed signature (thinking from another model or key).
        self.replay_thinking = True
        self._checked = False
        self._token_cache: dict[str, int] = {}

    @property
    def name(self) -> str:
        return self.route.name

    @property
    def api_base(self) -> str | None:
        """The --api-base the person gave (logged so a resumed session reaches the same server)."""
        return self.route.api_base if self.route.explicit_base else None

    # ---- what the model is ----------------------------------------------------------------------------

    def _info(self) -> dict[str, Any]:
        if self.route.kind in ("hf_router", "local"):
            return {}
        try:
            return dict(_litellm().get_model_info(self.route.model))
        except Exception:  # noqa: BLE001 - not in litellm's map
            return {}

    @property
    def context_window(self) -> int:
        if self.route.kind == "local":
            return LOCAL_CONTEXT_WINDOW
        return int(self._info().get("max_input_tokens") or FALLBACK_CONTEXT_WINDOW)

    def _supports_reasoning(self) -> bool:
        try:
            return bool(_litellm().supports_reasoning(self.route.model))
        except Exception:  # noqa: BLE001
            return False

    def accepted_efforts(self) -> tuple[str, ...] | None:
        """Effort levels this endpoint takes (None: unknown, try and learn from a refusal)."""
        kind = self.route.kind
        if kind == "local":
            return ()  # local OpenAI-compatible servers take no reasoning effort
        if kind == "hf_router":
            return ("low", "medium", "high")
        if not self._supports_reasoning():
            return ()
        return ("low", "medium", "high", "max") if kind == "anthropic" else ("low", "medium", "high")

    @property
    def may_reason(self) -> bool:
        """Whether hidden reasoning may eat a completion allowance (so summaries need a larger one)."""
        return self.route.kind in ("hf_router", "local") or (
            self.route.kind != "anthropic" and self._supports_reasoning())

    @property
    def anthropic_family(self) -> bool:
        return self.route.kind == "anthropic" or (self.route.kind == "litellm" and self.route.model.startswith(
            ("bedrock/", "vertex_ai/")) and "claude" in self.route.model)

    @property
    def keeps_thinking(self) -> bool:
        """Thinking is replayed to Anthropic (however routed through litellm); others refuse or ignore it."""
        return self.anthropic_family and self.replay_thinking

    def price_known(self) -> bool:
        if self.route.kind == "local" and self.route.loopback:
            return True  # a server on this machine costs nothing per token
        info = self._info()
        return bool(info.get("input_cost_per_token") or info.get("output_cost_per_token"))

    def check(self) -> None:
        """Fail early with the variable or model id to fix, instead of a provider stack trace."""
        if self._checked:
            return
        route = self.route
        if route.kind in ("anthropic", "openai", "hf_router") and not route.api_key and "api_key" not in self.extra:
            where = "(or run `hf auth login`)" if route.kind == "hf_router" else ""
            raise ModelConfigError(f"model {route.name!r} needs {route.key_env}, which is not set",
                                   hint=f"set {route.key_env} in the kernel's environment "
                                        f"(os.environ[{route.key_env!r}] = ...) {where}".strip())
        if route.kind == "litellm":
            self._check_litellm_route()
        self._checked = True

    def _check_litellm_route(self) -> None:
        litellm = _litellm()
        custom = {p.get("provider") for p in (litellm.custom_provider_map or []) if isinstance(p, dict)}
        try:
            provider = litellm.get_llm_provider(self.route.model)[1]
        except Exception:  # noqa: BLE001 - litellm cannot tell
            provider = ""
        if provider in custom:
            return
        if not provider:
            raise ModelConfigError(
                f"unknown model id {self.name!r}: litellm cannot tell which provider serves it",
                hint="use provider/model, e.g. anthropic/claude-sonnet-4-5, openai/gpt-5, a Hugging Face id like "
                     "moonshotai/Kimi-K2.6:novita, ollama/llama3.1; or the offline 'demo'")
        if "api_key" not in self.extra and not self.route.api_base:
            missing = litellm.validate_environment(self.route.model).get("missing_keys") or []
            if missing:
                raise ModelConfigError(f"model {self.name!r} needs {', '.join(missing)}, which is not set",
                                       hint=f"set {missing[0]} in the kernel's environment")

    # ---- tokens and cost --------------------------------------------------------------------------------

    def count_tokens(self, message: Message) -> int:
        key = content_key(message)
        cached = self._token_cache.get(key)
        if cached is not None:
            return cached
        counter_model = self.route.model if self.route.kind in ("anthropic", "openai") else OFFLINE_TOKENIZER_MODEL
        try:
            msgs = to_wire_messages([message], keep_thinking=False)
            count = int(_litellm().token_counter(model=counter_model, messages=msgs)) if msgs else 0
        except Exception:  # noqa: BLE001 - a counter failure falls back to the estimate
            count = approximate_tokens(message)
        if len(self._token_cache) >= TOKEN_CACHE_SIZE:
            self._token_cache.pop(next(iter(self._token_cache)))
        self._token_cache[key] = count
        return count

    def cost(self, prompt: int, completion: int, cache_read: int, cache_write: int) -> float | None:
        """USD from litellm's price map; 0 for a server on this machine; None when the price is unknown."""
        if self.route.kind == "local":
            return 0.0 if self.route.loopback else None
        if not self.price_known():
            return None
        try:
            prompt_cost, completion_cost = _litellm().cost_per_token(
                model=self.route.model, prompt_tokens=prompt, completion_tokens=completion,
                cache_read_input_tokens=cache_read, cache_creation_input_tokens=cache_write)
            return float(prompt_cost + completion_cost)
        except Exception:  # noqa: BLE001 - not priceable after all
            return None

    # ---- the request --------------------------------------------------------------------------------

    def _effort_kwargs(self, effort: str | None) -> dict[str, Any]:
        if not effort or self.route.kind == "local":
            return {}
        if self.route.kind == "hf_router":
            return {"extra_body": {"reasoning_effort": effort}}
        return {"reasoning_effort": effort}

    def request_kwargs(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]],
                       settings: ModelSettings) -> tuple[dict[str, Any], ToolNames]:
        """Everything `litellm.acompletion` gets for this request (tests read it to check the wire rules)."""
        from ..caching import apply_prompt_caching

        route = self.route
        limit = None if route.kind == "anthropic" else OPENAI_DESCRIPTION_LIMIT
        wire_tools, names = fit_tools(tools, limit)
        wire_messages = to_wire_messages(messages, keep_thinking=self.keeps_thinking, names=names)
        wire_messages, wire_tools, cache_kwargs = apply_prompt_caching(
            route.kind, route.model, wire_messages, wire_tools, settings.prompt_cache_key)
        effort = settings.reasoning_effort
        if effort and self.anthropic_family and opens_tool_loop_without_thinking(wire_messages):
            effort = None
        kwargs: dict[str, Any] = {"model": route.model, "messages": wire_messages, "stream": True,
                                  "stream_options": {"include_usage": True}, "max_retries": 0}
        if route.api_base:
            kwargs["api_base"] = route.api_base
        if route.api_key:
            kwargs["api_key"] = route.api_key
        for extra in (cache_kwargs, self._effort_kwargs(effort), self.extra):
            for key, value in extra.items():
                if key in ("extra_body", "extra_headers") and key in kwargs:
                    kwargs[key] = {**kwargs[key], **value}
                else:
                    kwargs[key] = value
        for key in ("max_tokens", "temperature"):
            if getattr(settings, key) is not None:
                kwargs[key] = getattr(settings, key)
        if wire_tools:
            kwargs["tools"] = wire_tools
            if settings.tool_choice is not None:
                kwargs["tool_choice"] = settings.tool_choice
        return kwargs, names

    async def request(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], settings: ModelSettings,
                      on_delta: DeltaCallback | None = None) -> ModelResponse:
        self.check()
        litellm = _litellm()
        kwargs, names = self.request_kwargs(messages, tools, settings)
        notices: list[str] = []
        token = _notices.set(notices)
        try:
            stream = await litellm.acompletion(**kwargs)
            assembled = StreamAssembler()
            async for chunk in stream:
                new = assembled.add(chunk)
                if new and on_delta is not None:
                    on_delta(new)
        finally:
            _notices.reset(token)
        prompt, completion, cache_read, cache_write = usage_from(assembled.usage)
        calls = tuple(type(c)(c.id, names.real(c.name), c.arguments) for c in assembled.calls.calls())
        return ModelResponse(
            text="".join(assembled.text),
            tool_calls=calls,
            usage=ModelUsage(prompt, completion, cache_read, cache_write,
                             self.cost(prompt, completion, cache_read, cache_write)),
            thinking_blocks=assembled.thinking.complete(),
            finish_reason=assembled.finish_reason,
            model=self.name,
            notices=tuple(dict.fromkeys(notices)),
        )

    def start_hint(self) -> str:
        """For a local server that does not answer: the command that starts it."""
        server = LOCAL_SERVERS.get(self.route.server or "")
        where = self.route.api_base or ""
        if server is None:
            return f"nothing answers at {where}: check that the server runs and --api-base points at it"
        return (f"no {server.label} server answers at {where}: start it with `{server.start}`, or point "
                f"`%intern model {self.name} --api-base URL` at where it runs")
