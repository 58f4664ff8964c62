"""A polite Semantic Scholar Graph API client: citations, references, snippets, filtered search, recommendations.

One client per tool registry (so per session; no module-level state): it paces its requests (1 s apart with an
S2_API_KEY, whose plan is one request a second), backs off on 429 and 5xx (the server's Retry-After, else a doubling
wait), remembers answers it already got, and counts its requests (the benchmark reports them). The key travels in
the `x-api-key` header to the configured Semantic Scholar host only.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

import httpx

from .config import ToolsConfig
from .errors import server_message
from .registry import ToolError

SERVICE = "Semantic Scholar"
CACHE_ENTRIES = 256
MAX_BODY_BYTES = 5_000_000
# A server asking for a longer pause than this is treated as "down for now": say so instead of blocking the turn.
MAX_WAIT_S = 30.0
# Id forms the Graph API accepts besides its own 40-hex ids.
ID_PREFIXES = ("CorpusId:", "DOI:", "ARXIV:", "MAG:", "ACL:", "PMID:", "PMCID:", "URL:")
ARXIV_ID = re.compile(r"^(?:arxiv:)?(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$", re.I)

PAPER_FIELDS = "title,externalIds,year,venue,citationCount,influentialCitationCount,publicationDate,tldr"


class S2NotFound(ToolError):
    """Semantic Scholar does not know this paper (it indexes most of arXiv, with a delay of days)."""


def s2_paper_id(paper: str) -> str:
    """An arXiv id ("2305.18290", "arxiv:2305.18290v2") as `ARXIV:2305.18290`; S2's own id forms pass unchanged."""
    paper = paper.strip()
    match = ARXIV_ID.match(paper)
    if match:
        return f"ARXIV:{match.group(1)}"
    if paper.startswith(ID_PREFIXES) or re.fullmatch(r"[0-9a-f]{40}", paper):
        return paper
    raise ToolError(f"{paper!r} is not an arXiv id (like 2305.18290) or a Semantic Scholar id (like "
                    "CorpusId:215416146 or DOI:10.18653/v1/N18-3011)")


def arxiv_of(paper: dict[str, Any]) -> str:
    return str((paper.get("externalIds") or {}).get("ArXiv") or "")


class SemanticScholar:
    def __init__(self, config: ToolsConfig) -> None:
        self.base = config.s2_api_url.rstrip("/")
        self.key = config.s2_api_key or None
        self.interval = config.s2_min_interval_s if config.s2_min_interval_s is not None else (1.0 if self.key else 0.0)
        self.backoff_s = config.s2_backoff_s
        self.retries = max(0, config.s2_retries)
        self.timeout = config.http_timeout_s
        self.requests = 0
        self._next_slot = 0.0
        self._cache: OrderedDict[str, Any] = OrderedDict()

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        key = path + "?" + json.dumps(params or {}, sort_keys=True)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        data = await self._request("GET", path, params)
        self._cache[key] = data
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)
        return data

    async def post(self, path: str, params: dict[str, Any], body: dict[str, Any]) -> Any:
        return await self._request("POST", path, params, body)

    def paper_path(self, paper: str, suffix: str = "") -> str:
        return f"/graph/v1/paper/{quote(s2_paper_id(paper), safe=':')}{suffix}"

    async def _pace(self) -> None:
        """Reserve the next request slot (no lock needed: one event loop, and the slot is taken before sleeping)."""
        now = time.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _request(self, method: str, path: str, params: dict[str, Any] | None,
                       body: dict[str, Any] | None = None) -> Any:
        headers = {"User-Agent": "mlintern-jupyter"}
        if self.key:
            headers["x-api-key"] = self.key
        waited = 0.0
        for attempt in range(self.retries + 1):
            await self._pace()
            try:
                async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                    response = await client.request(method, self.base + path, params=params, json=body,
                                                    headers=headers)
            except httpx.HTTPError as exc:
                self.requests += 1
                if attempt < self.retries:
                    waited += await self._wait(attempt, None)
                    continue
                raise ToolError(f"could not reach {SERVICE} ({type(exc).__name__}) after {attempt + 1} tries; "
                                "check the network, or use hf_papers search / paper_details / read_paper, which "
                                "work from the Hub alone") from None
            self.requests += 1
            status = response.status_code
            if status == 429 or status >= 500:
                retry_after = _retry_after(response)
                if attempt < self.retries and (retry_after is None or retry_after <= MAX_WAIT_S):
                    waited += await self._wait(attempt, retry_after)
                    continue
                raise _overloaded(status, attempt + 1, waited, bool(self.key))
            if status == 404:
                raise S2NotFound(f"{SERVICE} does not know this paper ({server_message(response.content)}); new "
                                 "arXiv papers appear there after a few days; check the id, or use paper_details "
                                 "and read_paper, which work from the Hub")
            if status >= 400:
                raise ToolError(f"{SERVICE} refused the request (HTTP {status}: "
                                f"{server_message(response.content, response.headers)}); check the arguments")
            if len(response.content) > MAX_BODY_BYTES:
                raise ToolError(f"{SERVICE} sent {len(response.content)} bytes; ask for a smaller `limit`")
            try:
                return response.json()
            except ValueError:
                raise ToolError(f"{SERVICE} sent a malformed answer (not JSON); retry later") from None
        raise AssertionError("unreachable")

    async def _wait(self, attempt: int, retry_after: float | None) -> float:
        delay = retry_after if retry_after is not None else min(MAX_WAIT_S, self.backoff_s * 2 ** attempt)
        self._next_slot = max(self._next_slot, time.monotonic() + delay)
        await asyncio.sleep(delay)
        return delay


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _overloaded(status: int, tries: int, waited: float, has_key: bool) -> ToolError:
    what = "is rate limiting these requests (HTTP 429)" if status == 429 else f"is failing (HTTP {status})"
    advice = ("retry in a minute" if has_key else
              "set S2_API_KEY (a free key from semanticscholar.org/product/api) for a higher limit, or retry in a "
              "minute")
    return ToolError(f"{SERVICE} {what} after {tries} tries over {waited:.0f}s; {advice}. Meanwhile hf_papers "
                     "search (without filters), paper_details, read_paper and find_* work from the Hub alone.")
