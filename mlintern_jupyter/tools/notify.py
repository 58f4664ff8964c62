"""notify: Slack messages (bot token + channel, or an incoming webhook), opt-in per kind of event.

The `notify` tool lets the model send a message when it decides to; `slack_listener` is a session listener
that posts on approval requests, errors and finished turns, each only if the config lists that kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Literal

import httpx

from ..agent import events as ev
from .config import SlackConfig, ToolsConfig
from .registry import Tool, ToolError

TEXT_CAP = 3_000
EVENT_KINDS = ("approval", "error", "turn_done", "tool")


async def send_slack(slack: SlackConfig, text: str, *, timeout: float = 10.0) -> str:
    """Post one message; returns where it went. Raises ToolError with what to fix."""
    text = text[:TEXT_CAP]
    if not slack.configured:
        raise ToolError("Slack is not configured: set a webhook URL, or a bot token and a channel, in the tools config")
    async with httpx.AsyncClient(timeout=timeout) as client:
        try:
            if slack.webhook_url:
                response = await client.post(slack.webhook_url, json={"text": text})
                if response.status_code == 429:
                    raise ToolError(f"Slack rate-limited the webhook; retry after {response.headers.get('retry-after', '60')}s")
                if response.status_code >= 400:
                    raise ToolError(f"the Slack webhook answered HTTP {response.status_code} ({response.text[:200]}): "
                                    "check the webhook URL")
                return "the Slack webhook"
            response = await client.post(f"{slack.api_url.rstrip('/')}/chat.postMessage",
                                         headers={"Authorization": f"Bearer {slack.bot_token}"},
                                         json={"channel": slack.channel, "text": text})
        except httpx.HTTPError as exc:
            raise ToolError(f"could not reach Slack ({type(exc).__name__}); retry later") from None
    if response.status_code == 429:
        raise ToolError(f"Slack rate-limited the bot; retry after {response.headers.get('retry-after', '60')}s")
    data = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if not data.get("ok"):
        error = data.get("error") or f"HTTP {response.status_code}"
        raise ToolError(f"Slack refused the message ({error}): check the bot token and that the bot is in "
                        f"channel {slack.channel}")
    return f"Slack channel {slack.channel}"


def make_notify(config: ToolsConfig) -> Tool:
    async def notify(message: str, destinations: list[str] | None = None, title: str | None = None,
                     severity: Literal["info", "success", "warning", "error"] = "info") -> str:
        """Send a short notification to the person's Slack channel, only when they asked to be notified (e.g. a
        long job finished or failed). Not for progress the notebook already shows.

        Args:
            message: the text to send (plain text, at most 3000 characters).
            destinations: where to send it: ["slack"] (the one configured channel; the default).
            title: a short first line, e.g. "SFT job finished".
            severity: info (default), success, warning or error.
        """
        unknown = [d for d in destinations or [] if d.split(".", 1)[0] != "slack"]
        if unknown:
            raise ToolError(f"unknown destination(s) {', '.join(unknown)}: only 'slack' (the configured channel) exists")
        if "tool" not in config.slack.events:
            raise ToolError("notifications from the agent are not enabled for this session (opt-in in the config)")
        mark = {"info": "", "success": ":white_check_mark: ", "warning": ":warning: ", "error": ":x: "}[severity]
        text = f"{mark}*{title}*\n{message}" if title else f"{mark}{message}"
        where = await send_slack(config.slack, text, timeout=config.http_timeout_s)
        return f"Sent to {where}."

    return Tool.from_function(notify)


def _message(event: ev.Event, kinds: frozenset[str]) -> str | None:
    match event:
        case ev.ApprovalRequested(tool=tool, cost_usd=cost, reason=reason) if "approval" in kinds:
            price = "unknown cost" if cost is None else f"worst case ${cost:.2f}"
            return f":raised_hand: mlintern needs approval: {tool} ({reason}; {price}). Answer in the notebook."
        case ev.Error(message=message) if "error" in kinds:
            return f":x: mlintern error: {message[:500]}"
        case ev.TurnEnded(reason=reason, message=message) if "turn_done" in kinds:
            return f":white_check_mark: mlintern turn ended ({reason}). {message[:300]}".strip()
    return None


class SlackNotifier:
    """A session listener (`session.subscribe(SlackNotifier(cfg))`) posting the opted-in kinds of events.

    Listeners are called synchronously inside `emit`; the post runs in the background (a task on the running
    loop, else a short-lived thread) so a slow Slack never delays the agent. Failures go to `on_failure`.
    """

    def __init__(self, slack: SlackConfig, *, on_failure: Callable[[str], None] | None = None) -> None:
        self.slack = slack
        self.on_failure = on_failure
        # asyncio keeps only weak references to tasks: hold them until they finish.
        self.tasks: set[asyncio.Task[None]] = set()

    async def _post(self, text: str) -> None:
        try:
            await send_slack(self.slack, text)
        except Exception as exc:  # noqa: BLE001 - a failed notification must never break the session
            if self.on_failure is not None:
                with contextlib.suppress(Exception):
                    self.on_failure(f"Slack notification failed: {exc}")

    def __call__(self, event: ev.Event) -> None:
        text = _message(event, self.slack.events) if self.slack.configured else None
        if text is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            threading.Thread(target=lambda: asyncio.run(self._post(text)), daemon=True).start()
            return
        task = loop.create_task(self._post(text))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self) -> None:
        """Wait for the posts in flight (tests, shutdown)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


def slack_listener(slack: SlackConfig, *, on_failure: Callable[[str], None] | None = None) -> SlackNotifier:
    return SlackNotifier(slack, on_failure=on_failure)
