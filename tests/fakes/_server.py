"""Shared machinery of the loopback fakes: a uvicorn server in a background thread, a regex router
matched against the *raw* (still percent-encoded) request path, a thread-safe request log and
failure injection.

Every fake is a context manager::

    with FakeHub() as hub:
        hub.url            # "http://127.0.0.1:<port>"
        hub.requests       # RequestLog of RecordedRequest (method, path, query, headers, body, json())
        hub.fail("jobs.create", 402)                 # by route name ...
        hub.fail("POST /api/jobs/*", 503, times=2)   # ... or by "METHOD /path" glob

Route names of each fake are listed in its module docstring and in ``fake.route_names()``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, unquote

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Handler = Callable[..., Any]


@dataclass
class RecordedRequest:
    method: str
    path: str  # decoded path
    raw_path: str  # as sent (percent-encoded)
    query: dict[str, str]  # last value of each parameter
    query_list: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    route: str | None = None
    status: int | None = None  # status the fake answered (None while a stream is running)
    time: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class RequestLog:
    """Thread-safe list of RecordedRequest."""

    def __init__(self) -> None:
        self._items: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def append(self, item: RecordedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def __iter__(self):
        return iter(self.snapshot())

    def __len__(self) -> int:
        return len(self.snapshot())

    def __getitem__(self, i):
        return self.snapshot()[i]

    def find(
        self, method: str | None = None, path: str | None = None, route: str | None = None
    ) -> list[RecordedRequest]:
        """Filter by method, path glob (``/api/jobs/*``) and/or route name."""
        out = []
        for r in self.snapshot():
            if method and r.method != method.upper():
                continue
            if path and not fnmatch.fnmatchcase(r.path, path):
                continue
            if route and r.route != route:
                continue
            out.append(r)
        return out


DEFAULT_ERROR_MESSAGES = {
    400: "Bad request",
    401: "Invalid credentials in Authorization header",
    402: "Payment required: your pre-paid credit balance is insufficient. Add a payment method or credits at https://huggingface.co/settings/billing to use this hardware.",
    403: "You don't have the rights to perform this action",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Error - We're working hard to fix this as soon as possible!",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class Failure:
    """One failure-injection rule. ``times=None`` means forever."""

    match: str
    status: int
    times: int | None = None
    body: Any = None  # dict -> JSON, str/bytes -> as is; None -> fake's default error body
    headers: dict[str, str] | None = None
    retry_after: float | None = None
    delay: float = 0.0  # seconds to sleep before answering (for timeout tests)
    hits: int = 0


@dataclass
class Route:
    method: str
    regex: re.Pattern
    handler: Handler
    name: str


class FakeServer:
    """Base class. Subclasses call ``self.add(method, regex, handler, name)`` in ``_setup_routes``."""

    def __init__(self) -> None:
        self.requests = RequestLog()
        self._routes: list[Route] = []
        self._failures: list[Failure] = []
        self.lock = threading.RLock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.port = 0
        self._setup_routes()

    # --- routing -------------------------------------------------------
    def _setup_routes(self) -> None:  # pragma: no cover - overridden
        pass

    def add(self, method: str, pattern: str, handler: Handler, name: str) -> None:
        """``pattern`` is a regex over the raw path; named groups are percent-decoded and passed as kwargs."""
        for m in method.split("|"):
            self._routes.append(Route(m, re.compile("^" + pattern + "$"), handler, name))

    def route_names(self) -> list[str]:
        return sorted({r.name for r in self._routes})

    def routes(self) -> list[tuple[str, str, str]]:
        return [(r.method, r.regex.pattern, r.name) for r in self._routes]

    # --- failure injection ---------------------------------------------
    def fail(
        self,
        match: str,
        status: int,
        *,
        times: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
    ) -> Failure:
        """Answer ``status`` to requests matching ``match`` (a route name, or a ``"METHOD /path"`` glob
        over the decoded path, e.g. ``"POST /api/jobs/*"``, ``"* /api/whoami-v2"``)."""
        f = Failure(match, status, times, body, headers, retry_after, delay)
        with self.lock:
            self._failures.append(f)
        return f

    def clear_failures(self) -> None:
        with self.lock:
            self._failures.clear()

    def _take_failure(self, method: str, path: str, route: str | None) -> Failure | None:
        with self.lock:
            for f in self._failures:
                if f.times is not None and f.hits >= f.times:
                    continue
                if f.match == route or fnmatch.fnmatchcase(f"{method} {path}", f.match):
                    f.hits += 1
                    return f
        return None

    def error_response(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        """Default error body; subclasses override to match their service."""
        msg = message or DEFAULT_ERROR_MESSAGES.get(status, "Error")
        return JSONResponse({"error": msg}, status_code=status, headers=headers)

    def _failure_response(self, f: Failure) -> Response:
        headers = dict(f.headers or {})
        if f.retry_after is not None:
            headers["Retry-After"] = str(int(f.retry_after) if float(f.retry_after).is_integer() else f.retry_after)
        if f.body is None:
            resp = self.error_response(f.status)
            for k, v in headers.items():
                resp.headers[k] = v
            return resp
        if isinstance(f.body, (dict, list)):
            return JSONResponse(f.body, status_code=f.status, headers=headers)
        return Response(f.body, status_code=f.status, headers=headers)

    # --- ASGI ----------------------------------------------------------
    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        raw_path = scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0] or scope["path"]
        qs = scope.get("query_string", b"").decode("latin-1")
        query_list = parse_qsl(qs, keep_blank_values=True)
        method = scope["method"]
        rec = RecordedRequest(
            method=method,
            path=unquote(raw_path),
            raw_path=raw_path,
            query=dict(query_list),
            query_list=query_list,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        route, kwargs = self._match(method, raw_path)
        rec.route = route.name if route else None
        self.requests.append(rec)
        failure = self._take_failure(method, rec.path, rec.route)
        if failure is not None:
            if failure.delay:
                await asyncio.sleep(failure.delay)
            response = self._failure_response(failure)
        elif route is None:
            response = self.not_found(rec)
        else:
            try:
                self.before_request(rec)
                response = route.handler(rec, **kwargs)
                if asyncio.iscoroutine(response):
                    response = await response
            except HTTPError as e:
                response = e.response if e.response is not None else self.error_response(e.status, e.message, e.headers)
        rec.status = getattr(response, "status_code", None)
        if "date" not in response.headers:
            # The real servers' Date is the time of this response. uvicorn's own is refreshed by its main loop
            # about once a second, later on a loaded machine; huggingface_hub's no-follow log replay stops at
            # Date + 1 s, so a stale Date cut off log lines written after it.
            response.headers["date"] = formatdate(usegmt=True)
        await response(scope, receive, send)

    def _match(self, method: str, raw_path: str):
        for r in self._routes:
            m = r.regex.match(raw_path)
            if not m:
                continue
            if r.method not in (method, "*") and not (r.method == "GET" and method == "HEAD"):
                continue
            kwargs = {k: (unquote(v) if v is not None else None) for k, v in m.groupdict().items()}
            return r, kwargs
        return None, {}

    def before_request(self, rec: RecordedRequest) -> None:
        """Hook run before every routed handler; raise HTTPError to refuse the request."""

    def not_found(self, rec: RecordedRequest) -> Response:
        return self.error_response(404, f"Fake route not found: {rec.method} {rec.path}")

    # --- lifecycle -----------------------------------------------------
    def start(self) -> FakeServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self,
            log_level="critical",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=5,
            ws="none",
            date_header=False,  # each response sets its own (see __call__)
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"{type(self).__name__}-{self.port}"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{type(self).__name__} failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class HTTPError(Exception):
    """Raise from a handler to answer an error (``response`` wins over status/message)."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        response: Response | None = None,
    ) -> None:
        super().__init__(message or str(status))
        self.status, self.message, self.headers, self.response = status, message, headers, response


class DropConnection(Exception):
    """Raised inside a streaming body to cut the connection without the terminating chunk."""


def json_body(rec: RecordedRequest) -> Any:
    try:
        return rec.json()
    except ValueError as e:
        raise HTTPError(400, f"invalid JSON body: {e}") from e
