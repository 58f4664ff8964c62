"""FakeSearch: a DuckDuckGo-HTML-style public search page.

* ``GET /html/?q=...`` and ``POST /html/`` (form field ``q``)          route: search.html
* ``GET /``                                                           route: search.home

Each result is::

    <div class="result results_links results_links_deep web-result">
      <div class="links_main links_deep result__body">
        <h2 class="result__title"><a rel="nofollow" class="result__a" href="HREF">TITLE</a></h2>
        <div class="result__extras"><div class="result__extras__url">
          <a class="result__url" href="HREF">DISPLAY-URL</a></div></div>
        <a class="result__snippet" href="HREF">SNIPPET</a>
      </div>
    </div>

``HREF`` is DuckDuckGo's redirect ``//duckduckgo.com/l/?uddg=<url-encoded target>&rut=<hex>`` when
``redirect_links=True`` (default, as the real page does), else the target URL itself. No results:
``<div class="no-results">No results.</div>``. ``search.challenge = True`` answers 202 with the anomaly /
CAPTCHA page DuckDuckGo serves to bots (no results, ``<div class="anomaly-modal__title">``).

Configure results with ``search.set_results(query, [{"title", "url", "snippet"}, ...])`` (exact, case-insensitive
query) or ``search.default_results = [...]`` (used for any other query; default: three results derived from the
query). Titles and snippets are HTML-escaped; ``snippet`` may contain ``<b>`` via ``snippet_html``.
"""

from __future__ import annotations

import hashlib
import html
from typing import Any
from urllib.parse import parse_qsl, quote, urlparse

from starlette.responses import HTMLResponse, Response

from ._server import FakeServer, RecordedRequest


class FakeSearch(FakeServer):
    def __init__(self, *, redirect_links: bool = True) -> None:
        self.results: dict[str, list[dict[str, Any]]] = {}
        self.default_results: list[dict[str, Any]] | None = None
        self.redirect_links = redirect_links
        self.challenge = False
        super().__init__()

    def set_results(self, query: str, results: list[dict[str, Any]]) -> None:
        self.results[query.strip().lower()] = results

    def results_for(self, q: str) -> list[dict[str, Any]]:
        if q.strip().lower() in self.results:
            return self.results[q.strip().lower()]
        if self.default_results is not None:
            return self.default_results
        slug = quote(q.strip().replace(" ", "-"))
        return [
            {
                "title": f"{q} - Hugging Face documentation",
                "url": f"https://huggingface.co/docs/search?q={slug}",
                "snippet": f"Documentation about {q}.",
            },
            {
                "title": f"{q} | GitHub examples",
                "url": f"https://github.com/search?q={slug}",
                "snippet": f"Example code for {q}.",
            },
            {
                "title": f"How to {q} - a blog post",
                "url": f"https://blog.example.com/{slug}",
                "snippet": f"A walkthrough of {q} step by step.",
            },
        ]

    def _setup_routes(self) -> None:
        self.add("GET|POST", r"/html/?", self._html, "search.html")
        self.add(
            "GET",
            r"/",
            lambda rec: HTMLResponse("<html><body><form action='/html/'><input name='q'></form></body></html>"),
            "search.home",
        )

    def _href(self, url: str) -> str:
        if not self.redirect_links:
            return url
        rut = hashlib.sha1(url.encode()).hexdigest()
        return f"//duckduckgo.com/l/?uddg={quote(url, safe='')}&amp;rut={rut}"

    def _html(self, rec: RecordedRequest) -> Response:
        q = rec.query.get("q", "")
        if rec.method == "POST":
            q = dict(parse_qsl(rec.body.decode("utf-8", "replace"))).get("q", q)
        e = html.escape
        if self.challenge:
            return HTMLResponse(
                '<html><body><div class="anomaly-modal__title">Unfortunately, bots use DuckDuckGo '
                'too.</div><div class="anomaly-modal__description">Please complete the following '
                "challenge to confirm this search was made by a human.</div></body></html>",
                status_code=202,
            )
        parts = []
        for r in self.results_for(q):
            href = self._href(r["url"])
            display = urlparse(r["url"]).netloc + urlparse(r["url"]).path
            snippet = r.get("snippet_html") or e(r.get("snippet", ""))
            parts.append(
                '<div class="result results_links results_links_deep web-result ">\n'
                '  <div class="links_main links_deep result__body">\n'
                f'    <h2 class="result__title"><a rel="nofollow" class="result__a" href="{href}">{e(r["title"])}</a></h2>\n'
                '    <div class="result__extras"><div class="result__extras__url">'
                f'<a class="result__url" href="{href}">{e(display)}</a></div></div>\n'
                f'    <a class="result__snippet" href="{href}">{snippet}</a>\n'
                '    <div class="clear"></div>\n  </div>\n</div>\n'
            )
        body = "".join(parts) or '<div class="no-results">No results.</div>'
        page = (
            f"<!DOCTYPE html><html><head><title>{e(q)} at DuckDuckGo</title></head><body>"
            f'<div id="links" class="results">\n{body}</div></body></html>'
        )
        return HTMLResponse(page)
