"""HTTP failures of the Hub, GitHub and other services as short tool errors that say what to do next.

Decided by status code and exception type, never by substrings of the error text. Messages are capped so a
5 MB error page cannot flood the model's context.
"""

from __future__ import annotations

import json
from typing import Any

from .registry import ToolError

MESSAGE_CAP = 600

ADVICE = {
    400: "the request was rejected as invalid: check the arguments",
    401: "the token was rejected or is missing: check {token} (a valid token with the right scopes)",
    402: "billing refused: the account has no payment method or credit for this hardware; add one at "
         "https://huggingface.co/settings/billing or choose cheaper hardware / the local runtime",
    403: "permission denied: the token cannot act on this resource or namespace (check its scopes and the org)",
    404: "not found: check the name, namespace, revision or path (private repos need a token with access)",
    409: "conflict: it already exists or was changed meanwhile; inspect it before retrying",
    413: "too large for the service: send less at once",
    422: "the service could not process these values: check the arguments",
    429: "rate limited: wait {retry} before retrying, and make fewer calls",
}


def _short(text: str, cap: int = MESSAGE_CAP) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= cap else text[:cap] + " ..."


def server_message(body: bytes | str | None, headers: Any = None) -> str:
    """The service's own short message: X-Error-Message, JSON `error`/`message`, else the start of the body."""
    if headers is not None:
        for name in ("x-error-message",):
            value = headers.get(name)
            if value:
                return _short(value)
    if isinstance(body, bytes):
        body = body[:4000].decode("utf-8", "replace")
    if not body:
        return ""
    try:
        data = json.loads(body)
    except ValueError:
        return _short(body, 200)
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            if isinstance(data.get(key), str):
                return _short(data[key])
    return _short(body, 200)


def http_error(service: str, status: int, message: str = "", *, retry_after: str | None = None,
               token_name: str = "the token") -> ToolError:
    if status >= 500:
        advice = "the service failed on its side; retry in a minute, and report it if it persists"
    else:
        advice = ADVICE.get(status, "the request failed").format(
            token=token_name, retry=f"{retry_after}s" if retry_after else "a minute")
    detail = f" ({_short(message)})" if message else ""
    return ToolError(f"{service} answered HTTP {status}{detail}: {advice}.")


def from_httpx(service: str, response: Any, token_name: str = "the token") -> ToolError:
    """A ToolError for an httpx (or httpx2) response with an error status."""
    try:
        body = response.content
    except Exception:  # noqa: BLE001 - a streamed body may not be readable any more
        body = b""
    retry = response.headers.get("retry-after") or response.headers.get("x-ratelimit-reset-after")
    status = response.status_code
    if status == 403 and response.headers.get("x-ratelimit-remaining") == "0":
        status = 429  # GitHub signals its rate limit with 403 and these headers
    return http_error(service, status, server_message(body, response.headers), retry_after=retry,
                      token_name=token_name)


def from_hub_exception(exc: BaseException, what: str = "the Hub") -> ToolError:
    """Map huggingface_hub exceptions (HfHubHTTPError and friends) by type and status."""
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status_code", None):
        return from_httpx(what, response, token_name="HF_TOKEN")
    if isinstance(exc, FileNotFoundError):
        return ToolError(f"file not found: {_short(str(exc))}")
    if isinstance(exc, OSError | TimeoutError) or type(exc).__name__.endswith(("ConnectError", "TimeoutException",
                                                                                 "ReadTimeout", "ConnectTimeout")):
        return ToolError(f"could not reach {what} ({type(exc).__name__}): check the network and the endpoint, "
                         "then retry")
    return ToolError(f"{what} call failed: {type(exc).__name__}: {_short(str(exc))}")
