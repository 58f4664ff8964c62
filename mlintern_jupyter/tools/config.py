"""Configuration of the built-in tools: endpoints, credentials, runtime default, notification destinations.

Every base URL is configurable (environment or the object) so tests point the tools at loopback fakes. The HF
token goes by destination, never by domain suffix (`sends_hf_token`): to the configured Hub endpoint, to
https://huggingface.co and https://hf.co on their API and docs paths, and to hosts the person listed; never to a
Space someone else hosts (`*.hf.space`), GitHub, search pages, Slack or MCP servers elsewhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

Runtime = Literal["auto", "hf", "local"]
# Exact hosts (https only) that receive the HF token on the paths below; a suffix match once sent it to any
# attacker's Space (`*.hf.space`), because anyone can host one.
HF_TOKEN_HOSTS = frozenset({"huggingface.co", "hf.co"})
HF_TOKEN_PATHS = ("/api/", "/docs/", "/mcp")
# Hugging Face's own API hosts: every path.
HF_API_HOSTS = frozenset({"datasets-server.huggingface.co"})


@dataclass
class SlackConfig:
    bot_token: str | None = None
    channel: str | None = None
    webhook_url: str | None = None
    api_url: str = "https://slack.com/api"
    # Opt-in per kind of event: nothing is sent unless listed here.
    events: frozenset[str] = frozenset()

    @property
    def configured(self) -> bool:
        return bool(self.webhook_url or (self.bot_token and self.channel))

    @classmethod
    def from_settings(cls, data: Any, environ: Any = None) -> SlackConfig:
        """The `"slack"` entry of $MLINTERN_HOME/config.json: `webhook_url` or `channel`, and `events` (any of
        approval, error, turn_done, tool). Secrets stay in the environment: SLACK_BOT_TOKEN, SLACK_WEBHOOK_URL."""
        environ = os.environ if environ is None else environ
        data = data if isinstance(data, dict) else {}
        events = data.get("events") if isinstance(data.get("events"), list) else []
        return cls(
            bot_token=environ.get("SLACK_BOT_TOKEN") or None,
            channel=str(data["channel"]) if data.get("channel") else None,
            webhook_url=environ.get("SLACK_WEBHOOK_URL") or (str(data["webhook_url"]) if data.get("webhook_url")
                                                              else None),
            api_url=str(data.get("api_url") or "https://slack.com/api"),
            events=frozenset(str(e) for e in events),
        )


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value else default


def _env_or(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass
class ToolsConfig:
    hf_endpoint: str = field(default_factory=lambda: _env_or("HF_ENDPOINT", "https://huggingface.co").rstrip("/"))
    # Explicit token; None means "look it up" (HF_TOKEN, then huggingface_hub's saved token), "" means none.
    hf_token: str | None = None
    datasets_server_url: str = field(
        default_factory=lambda: _env_or("MLINTERN_DATASETS_SERVER", "https://datasets-server.huggingface.co"))
    arxiv_html_url: str = field(default_factory=lambda: _env_or("MLINTERN_ARXIV_HTML", "https://arxiv.org/html"))
    # Semantic Scholar Graph API (citations, snippets, recommendations); S2_API_KEY raises its rate limit.
    s2_api_url: str = field(default_factory=lambda: _env_or("MLINTERN_S2_API", "https://api.semanticscholar.org"))
    s2_api_key: str | None = field(default_factory=lambda: _env("S2_API_KEY"))
    # Pause between Semantic Scholar requests; None: 1 s with a key (its plan is 1 request/s), none without.
    s2_min_interval_s: float | None = None
    # First wait after a 429 or 5xx (doubled each retry, or the server's Retry-After), and how many retries.
    s2_backoff_s: float = 2.0
    s2_retries: int = 3
    # How long the docs index, the per-library search index and the Hub's OpenAPI document stay fresh on disk.
    docs_index_ttl_s: float = 24 * 3600
    docs_pages_ttl_s: float = 7 * 24 * 3600
    github_api_url: str = field(default_factory=lambda: _env_or("MLINTERN_GITHUB_API", "https://api.github.com"))
    github_token: str | None = None
    search_url: str = field(default_factory=lambda: _env_or("MLINTERN_SEARCH_URL", "https://html.duckduckgo.com/html/"))
    search_allowed_domains: tuple[str, ...] = ()
    search_blocked_domains: tuple[str, ...] = ()
    slack: SlackConfig = field(default_factory=SlackConfig)
    runtime: Runtime = "auto"
    # Hard job timeout: every job gets one (the budget reserves price x timeout); the model may not exceed the max.
    default_job_timeout: str = "30m"
    max_job_timeout_s: int = 24 * 3600
    # Hosts beyond *.huggingface.co that count as Hugging Face (the configured endpoint is always one).
    extra_hf_hosts: tuple[str, ...] = ()
    http_timeout_s: float = 30.0
    home: Path | None = None

    def resolved_hf_token(self) -> str | None:
        if self.hf_token is not None:
            return self.hf_token or None
        # Whitespace stripped, as huggingface_hub does: a token pasted with a newline must still authenticate.
        token = (_env("HF_TOKEN") or "").strip() or (_env("HUGGING_FACE_HUB_TOKEN") or "").strip()
        if token:
            return token
        try:
            from huggingface_hub import get_token

            return get_token()
        except Exception:  # noqa: BLE001 - a broken token file means "no token", not a crash
            return None

    def resolved_github_token(self) -> str | None:
        return self.github_token or _env("GITHUB_TOKEN")

    def resolved_runtime(self) -> Literal["hf", "local"]:
        """`auto` means local without an HF token: the quickstart runs with no account at all."""
        if self.runtime == "auto":
            return "hf" if self.resolved_hf_token() else "local"
        return self.runtime

    def mlintern_home(self) -> Path:
        return self.home or Path(_env_or("MLINTERN_HOME", str(Path.home() / ".mlintern"))).expanduser()

    def cache_dir(self, *parts: str) -> Path:
        """$MLINTERN_HOME/cache/...: downloaded indexes the tools keep between sessions (created on demand)."""
        path = self.mlintern_home().joinpath("cache", *parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def user_config(self) -> dict[str, Any]:
        """$MLINTERN_HOME/config.json, or {} when absent or unreadable."""
        path = self.mlintern_home() / "config.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def hf_hosts(self) -> set[str]:
        """Exact netlocs that get the HF token on every path: the configured endpoint (and the dataset viewer when
        it is Hugging Face's or the endpoint's), plus `extra_hf_hosts`."""
        endpoint = urlparse(self.hf_endpoint).netloc.lower()
        viewer = urlparse(self.datasets_server_url).netloc.lower()
        hosts = {endpoint} | ({viewer} if viewer == endpoint or viewer in HF_API_HOSTS else set())
        return {h for h in hosts if h} | {h.lower() for h in self.extra_hf_hosts}

    def sends_hf_token(self, url: str) -> bool:
        return sends_hf_token(url, self.hf_hosts())

    def trusted_origins(self) -> list[str]:
        """The endpoints the person configured: requests to them may reach private addresses (see netguard)."""
        return [self.hf_endpoint, self.datasets_server_url, self.arxiv_html_url, self.github_api_url, self.s2_api_url,
                self.search_url, *(f"https://{h}" for h in self.extra_hf_hosts)]

    def is_docs_url(self, url: str) -> bool:
        return is_docs_url(url, self.hf_endpoint)


def sends_hf_token(url: str, extra_hosts: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether a request to `url` may carry the HF token: by exact destination, never by domain suffix."""
    parsed = urlparse(url)
    netloc, host = parsed.netloc.lower(), (parsed.hostname or "").lower()
    if netloc in extra_hosts:
        return True
    if parsed.scheme != "https" or parsed.username or parsed.password or parsed.port not in (None, 443):
        return False
    if host in extra_hosts or host in HF_API_HOSTS:
        return True
    return host in HF_TOKEN_HOSTS and (parsed.path or "/").startswith(HF_TOKEN_PATHS)


def is_docs_url(url: str, hf_endpoint: str) -> bool:
    """A Hugging Face documentation page: `library/page`, or /docs/ on the configured endpoint or huggingface.co."""
    if not url.startswith(("http://", "https://")):
        return True  # "trl/sft_trainer": fetch_hf_docs puts it under {endpoint}/docs/
    parsed = urlparse(url)
    if parsed.username or parsed.password or not parsed.path.startswith("/docs/") or ".." in parsed.path:
        return False
    endpoint = urlparse(hf_endpoint)
    if (parsed.scheme, parsed.netloc.lower()) == (endpoint.scheme, endpoint.netloc.lower()):
        return True
    return parsed.scheme == "https" and parsed.netloc.lower() in HF_TOKEN_HOSTS
