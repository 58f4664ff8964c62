"""FakeSlack: Slack Web API ``chat.postMessage`` and an incoming webhook.

* ``POST /api/chat.postMessage``  bot token in ``Authorization: Bearer xoxb-...`` (or ``token`` form field);
  JSON or form body with ``channel`` and ``text``/``blocks``. Answers (always HTTP 200, like Slack)
  ``{"ok": true, "channel", "ts", "message"}`` or ``{"ok": false, "error": "not_authed" | "invalid_auth" |
  "channel_not_found" | "no_text"}``.                                    route: slack.post_message
* ``POST /services/{T}/{B}/{X}`` incoming webhook (JSON ``{"text", "blocks"}``): ``200 ok`` for
  ``slack.webhook_path``, else ``404 no_service``; empty text -> ``400 no_text``.   route: slack.webhook

``slack.bot_token`` (default ``xoxb-fake-token``), ``slack.channels`` (default {"C0FAKE", "#general",
"general"}; None accepts any), ``slack.messages`` (list of dicts received, with ``via``: "api" | "webhook").
Rate limiting: ``slack.fail("slack.post_message", 429, retry_after=1)`` (Slack sends ``Retry-After``).
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, PlainTextResponse, Response

from ._server import FakeServer, RecordedRequest


class FakeSlack(FakeServer):
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-token",
        webhook_path: str = "/services/T0FAKE/B0FAKE/XXXXXXXXXXXXXXXXXXXXXXXX",
    ) -> None:
        self.bot_token = bot_token
        self.webhook_path = webhook_path
        self.channels: set[str] | None = {"C0FAKE", "#general", "general"}
        self.messages: list[dict[str, Any]] = []
        self._seq = itertools.count(1)
        super().__init__()

    @property
    def webhook_url(self) -> str:
        return self.url + self.webhook_path

    def error_response(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        if status == 429:
            return JSONResponse({"ok": False, "error": "ratelimited"}, status_code=429, headers=headers)
        return PlainTextResponse(message or "error", status_code=status, headers=headers)

    def _setup_routes(self) -> None:
        self.add("POST", r"/api/chat\.postMessage", self._post_message, "slack.post_message")
        self.add("POST", r"/services/(?P<t>[^/]+)/(?P<b>[^/]+)/(?P<x>[^/]+)", self._webhook, "slack.webhook")

    @staticmethod
    def _body(rec: RecordedRequest) -> dict[str, Any]:
        ctype = rec.headers.get("content-type", "")
        if "json" in ctype:
            try:
                return rec.json() or {}
            except ValueError:
                return {}
        return dict(parse_qsl(rec.body.decode("utf-8", "replace")))

    def _post_message(self, rec: RecordedRequest) -> Response:
        body = self._body(rec)
        auth = rec.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else body.get("token")
        if not token:
            return JSONResponse({"ok": False, "error": "not_authed"})
        if token != self.bot_token:
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        channel = body.get("channel")
        if not channel or (self.channels is not None and channel not in self.channels):
            return JSONResponse({"ok": False, "error": "channel_not_found"})
        blocks = body.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not body.get("text") and not blocks:
            return JSONResponse({"ok": False, "error": "no_text"})
        ts = f"{int(time.time())}.{next(self._seq):06d}"
        msg = {
            "type": "message",
            "text": body.get("text", ""),
            "blocks": blocks,
            "ts": ts,
            "bot_id": "B0FAKE",
            "channel": channel,
            "via": "api",
        }
        with self.lock:
            self.messages.append(msg)
        return JSONResponse(
            {
                "ok": True,
                "channel": channel if channel.startswith("C") else "C0FAKE",
                "ts": ts,
                "message": {k: v for k, v in msg.items() if k not in ("channel", "via")},
            }
        )

    def _webhook(self, rec: RecordedRequest, t: str, b: str, x: str) -> Response:
        if rec.path != self.webhook_path:
            return PlainTextResponse("no_service", status_code=404)
        body = self._body(rec)
        if "payload" in body and isinstance(body["payload"], str):
            body = json.loads(body["payload"])
        if not body.get("text") and not body.get("blocks"):
            return PlainTextResponse("no_text", status_code=400)
        with self.lock:
            self.messages.append({"text": body.get("text", ""), "blocks": body.get("blocks"), "via": "webhook"})
        return PlainTextResponse("ok")
