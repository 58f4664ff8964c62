"""What a provider's refusal means, read from its status code and error body (never from the prose around it).

litellm maps errors to its own classes, sometimes wrongly for us: an OpenAI 400 about a tool description once
came back as ContextWindowExceededError (so the loop compacted a context that was not too long), a 529
"overloaded" comes back as InternalServerError 500, and a local server that is not running is an
InternalServerError too. So we walk the exception chain for the status and the JSON body the provider sent:
OpenAI-style `{"error": {"message", "type", "param", "code"}}` or Anthropic-style `{"type": "error", "error":
{"type", "message"}}`, and decide from `status`, `error.type`, `error.code` and `error.param`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

FailureKind = Literal["context_overflow", "rate_limit", "overloaded", "billing", "auth", "not_found", "effort",
                      "bad_request", "unreachable", "transient", "other"]

# "maximum context length is 8192 tokens" (OpenAI, vLLM), "model maximum context length: 262143" (router),
# "prompt is too long: 210000 tokens > 200000 maximum" (Anthropic), "exceeds the available context size (4096"
_WINDOW_PATTERNS = (re.compile(r"maximum context length(?: is|:)\s*(\d+)"),
                    re.compile(r"tokens?\s*>\s*(\d+)\s*maximum"),
                    re.compile(r"available context size \((\d+)"))
_OVERFLOW_CODES = frozenset({"context_length_exceeded", "context_window_exceeded"})
_BILLING_CODES = frozenset({"insufficient_quota", "billing_error", "billing_hard_limit_reached"})
_TRANSIENT_STATUS = frozenset({408, 409, 500, 502, 503, 504})


@dataclass(frozen=True)
class ProviderFailure:
    kind: FailureKind
    status: int | None = None
    message: str = ""
    param: str | None = None
    code: str | None = None
    # A context window the refusal names ("maximum context length is N tokens"): learned for the session.
    window: int | None = None
    # For kind "effort": True when the parameter itself is refused (not just this level).
    effort_off: bool = False

    @property
    def transient(self) -> bool:
        return self.kind in ("rate_limit", "overloaded", "transient", "unreachable")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        nxt = getattr(current, "original_exception", None)
        current = nxt if isinstance(nxt, BaseException) else (current.__cause__ or current.__context__)


def _litellm_class(name: str) -> type | None:
    litellm = sys.modules.get("litellm")  # only the adapter imports litellm; if it is not loaded, no litellm error
    cls = getattr(litellm, name, None) if litellm is not None else None
    return cls if isinstance(cls, type) else None


def _json_in(text: str) -> dict[str, Any] | None:
    """The first JSON object with an `error` in a text (litellm embeds the provider's body in its message)."""
    for match in re.finditer(r"\{", text):
        try:
            value, _ = json.JSONDecoder().raw_decode(text[match.start():])
        except ValueError:
            continue
        if isinstance(value, dict) and "error" in value:
            return value
    return None


def error_body(exc: BaseException) -> dict[str, Any] | None:
    """The provider's error object, `{"type", "message", "param", "code"}`, wherever litellm kept it."""
    for item in _chain(exc):
        body = getattr(item, "body", None)
        candidates: list[Any] = [body if isinstance(body, dict) else None]
        response = getattr(item, "response", None)
        try:
            candidates.append(_json_in(response.text) if response is not None else None)
        except Exception:  # noqa: BLE001 - a streamed response has no text to read
            pass
        candidates.append(_json_in(str(getattr(item, "message", "") or item)))
        for found in candidates:
            if not isinstance(found, dict):
                continue
            inner = found.get("error", found)
            if isinstance(inner, dict) and ("message" in inner or "type" in inner):
                return inner
            if isinstance(inner, str):
                return {"message": inner}
    return None


def status_of(exc: BaseException) -> int | None:
    """The provider's HTTP status: litellm's `provider_status_code` (529 kept), else the first status in the chain."""
    # litellm's wrapper of an error raised mid-stream carries a generic 500; the original knows better.
    items = [i for i in _chain(exc) if type(i).__name__ != "MidStreamFallbackError"] or list(_chain(exc))
    for item in items:
        value = getattr(item, "provider_status_code", None)
        if isinstance(value, int) and value >= 400:
            return value
    for item in items:
        for value in (getattr(item, "status_code", None), getattr(getattr(item, "response", None), "status_code", None)):
            if isinstance(value, int) and not isinstance(value, bool) and value >= 400:
                return value
    return None


def _is_litellm(exc: BaseException, name: str) -> bool:
    cls = _litellm_class(name)
    return cls is not None and any(isinstance(item, cls) for item in _chain(exc))


def _unreachable(exc: BaseException) -> bool:
    names = {type(item).__name__ for item in _chain(exc)}
    return bool(names & {"ConnectionRefusedError", "ConnectError", "ClientConnectorError", "ConnectTimeout",
                         "gaierror"})


def window_in(message: str) -> int | None:
    for pattern in _WINDOW_PATTERNS:
        match = pattern.search(message)
        if match:
            return int(match.group(1))
    return None


def inspect(exc: BaseException) -> ProviderFailure:
    """Classify one failed model call."""
    status = status_of(exc)
    body = error_body(exc) or {}
    message = str(body.get("message") or "")
    kind_field = str(body.get("type") or "")
    code = body.get("code") if isinstance(body.get("code"), str) else None
    param = body.get("param") if isinstance(body.get("param"), str) else None

    def fail(kind: FailureKind, **extra: Any) -> ProviderFailure:
        return ProviderFailure(kind, **{"status": status, "message": message, "param": param, "code": code, **extra})

    if _is_litellm(exc, "UnsupportedParamsError"):
        # litellm refused before sending: the model does not take reasoning_effort at all.
        return fail("effort", param="reasoning_effort", effort_off=True)
    if _unreachable(exc):
        return fail("unreachable")
    if status == 402 or kind_field in _BILLING_CODES or code in _BILLING_CODES:
        return fail("billing")
    if status == 529 or kind_field == "overloaded_error":
        return fail("overloaded")
    if status == 429:
        return fail("rate_limit")
    if status in (401, 403) or kind_field in ("authentication_error", "permission_error"):
        return fail("auth")
    if status == 404 or code == "model_not_found":
        return fail("not_found")
    if status in (400, 413, 422):
        if param == "reasoning_effort" or (param or "").startswith("thinking") or message.startswith(
                ("thinking", "`max_tokens` must be greater than `thinking")):
            # The parameter itself refused (OpenAI's code; Anthropic says the model "does not support" thinking),
            # or only this level (`unsupported_value`): then the next lower level is tried.
            return fail("effort", effort_off=code == "unsupported_parameter"
                        or (code != "unsupported_value" and "does not support" in message))
        if code in _OVERFLOW_CODES or message.startswith("prompt is too long") or (
                param in (None, "messages", "input") and window_in(message) is not None):
            return fail("context_overflow", window=window_in(message))
        if status == 413 or (not body and _is_litellm(exc, "ContextWindowExceededError")):
            # No body to read (an error raised inside litellm or a custom provider): litellm's class decides.
            return fail("context_overflow", window=window_in(str(exc)))
        return fail("bad_request")
    if status in _TRANSIENT_STATUS or (status is not None and status >= 500):
        return fail("transient")
    if status is None and any(isinstance(i, TimeoutError | ConnectionError) for i in _chain(exc)):
        return fail("transient")
    return fail("other")
