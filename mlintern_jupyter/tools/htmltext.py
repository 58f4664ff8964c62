"""The HTTP GET the Hub-side tools share, and pages as markdown (`html_to_text`, converted in pages.py).

The HF token is attached only for its exact destinations (`ToolsConfig.sends_hf_token`), and only when the caller
asks for credentials; every hop passes the network guard (no loopback, private or metadata addresses except the
endpoints the person configured).
"""

from __future__ import annotations

from typing import Any

import httpx

from .config import ToolsConfig
from .errors import from_httpx
from .netguard import guarded_client
from .pages import html_to_markdown
from .registry import ToolError

MAX_PAGE_BYTES = 5_000_000


def html_to_text(html: str) -> str:
    """A page as readable markdown (markdownify; see pages.py): the name fetch_hf_docs and others use."""
    return html_to_markdown(html)


def cap(text: str, limit: int = 20_000, hint: str = "") -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} characters cut{'; ' + hint if hint else ''}]"


async def get(config: ToolsConfig, url: str, params: dict[str, Any] | None = None, *,
              service: str = "the Hub", credentials: bool = True) -> httpx.Response:
    response = await get_optional(config, url, params, service=service, allow_404=False, credentials=credentials)
    assert response is not None
    return response


async def get_optional(config: ToolsConfig, url: str, params: dict[str, Any] | None = None, *,
                       service: str = "the Hub", allow_404: bool = True,
                       credentials: bool = True) -> httpx.Response | None:
    """GET with the HF token only for its destinations (and only with `credentials`); None for a 404 when
    `allow_404`."""
    headers = {"User-Agent": "mlintern-jupyter"}
    token = config.resolved_hf_token() if credentials else None
    if token and config.sends_hf_token(url):
        headers["Authorization"] = f"Bearer {token}"
    try:
        async with guarded_client(trusted=config.trusted_origins(), timeout=config.http_timeout_s,
                                  follow_redirects=False) as client:
            response = await client.get(url, params=params, headers=headers)
            # Follow redirects by hand so the token never travels to a host it was not meant for.
            hops = 0
            while response.is_redirect and hops < 5:
                url = str(response.next_request.url) if response.next_request else url
                hops += 1
                if not config.sends_hf_token(url):
                    headers.pop("Authorization", None)
                response = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise ToolError(f"could not reach {service} ({type(exc).__name__}); check the network and retry") from None
    if allow_404 and response.status_code == 404:
        return None
    if response.status_code >= 400:
        raise from_httpx(service, response, token_name="HF_TOKEN")
    if len(response.content) > MAX_PAGE_BYTES:
        raise ToolError(f"{service} sent {len(response.content)} bytes; too large to read")
    return response
