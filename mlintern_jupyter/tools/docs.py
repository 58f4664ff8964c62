"""explore_hf_docs: the Hugging Face docs of one library, listed or searched with a BM25 index kept on disk.

Which libraries exist comes from the docs site's own index (`/api/docs`), cached on disk for a day; the tool's
schema lists them as an enum, so the model never guesses a name. A library's pages come from its sidebar; the
first search fetches every page once (as markdown: the site serves `<page>.md`; HTML pages are converted) and builds
a BM25 index under `$MLINTERN_HOME/cache/docs/<site>/<library>/`, fresh for a week. Later searches, in this session or the
next, read the index from disk: no network.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlparse

from .config import ToolsConfig
from .htmltext import cap, get, get_optional
from .pages import html_to_markdown
from .registry import Tool, ToolError
from .search_index import build_index, open_index, search

# Used until the site's own index has been fetched once (names as the docs site spells them).
SEED_LIBRARIES = (
    "accelerate", "argilla", "autotrain", "bitsandbytes", "chat-ui", "dataset-viewer", "datasets", "diffusers",
    "distilabel", "evaluate", "google-cloud", "hub", "huggingface.js", "huggingface_hub", "inference-endpoints",
    "inference-providers", "kernels", "leaderboards", "lerobot", "lighteval", "microsoft-azure", "optimum", "peft",
    "safetensors", "sagemaker", "sentence_transformers", "setfit", "smolagents", "tasks", "text-embeddings-inference",
    "text-generation-inference", "timm", "tokenizers", "trackio", "transformers", "transformers.js", "trl",
)  # fmt: skip
# ml-intern's names for groups and abbreviations, kept so its calls still validate.
COMPOSITES = {
    "courses": ("llm-course", "smol-course", "agents-course", "mcp-course", "deep-rl-course", "audio-course",
                "computer-vision-course", "diffusion-course", "robotics-course", "ml-games-course",
                "ml-for-3d-course", "cookbook"),
    "tgi": ("text-generation-inference",),
    "tei": ("text-embeddings-inference",),
}
# A library id becomes a cache folder name: only plain names from the site's index are used.
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")
FETCH_CONCURRENCY = 8
GLIMPSE_CHARS = 200
PAGE_CHARS = 200_000


class DocsCatalog:
    """The docs index, sidebars and search indexes of one registry (so of one session); disk caches are shared."""

    def __init__(self, config: ToolsConfig) -> None:
        self.config = config
        self.hub = config.hf_endpoint.rstrip("/")
        # Caches are per docs site (a mirror set through HF_ENDPOINT has its own).
        self.site = re.sub(r"[^A-Za-z0-9.-]+", "_", urlparse(self.hub).netloc) or "default"
        self.fetches = 0
        self._open: dict[str, tuple[Any, list[dict[str, str]]]] = {}

    # ---- which libraries -------------------------------------------------------------------------------
    def _index_file(self) -> Path:
        return self.config.cache_dir("docs", self.site) / "libraries.json"

    def cached_libraries(self) -> list[str]:
        """Library ids from the last fetched index (whatever its age), else the seed list; for the schema."""
        try:
            ids = [e["id"] for e in json.loads(self._index_file().read_text())["libraries"] if SAFE_ID.match(e["id"])]
        except (OSError, ValueError, KeyError, TypeError):
            ids = list(SEED_LIBRARIES)
        return sorted({*ids, *(name for name, members in COMPOSITES.items() if set(members) & set(ids))})

    async def libraries(self) -> list[str]:
        """The site's library ids, refreshed when the cached index is older than `docs_index_ttl_s`."""
        path = self._index_file()
        try:
            data = json.loads(path.read_text())
            if time.time() - float(data["fetched_at"]) < self.config.docs_index_ttl_s:
                return [e["id"] for e in data["libraries"] if SAFE_ID.match(e["id"])]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        try:
            self.fetches += 1
            entries = (await get(self.config, f"{self.hub}/api/docs", service="the docs index")).json()
            libraries = [{"id": str(e["id"]), "url": str(e.get("url") or f"/docs/{e['id']}"),
                          "category": str(e.get("category") or "")} for e in entries
                         if isinstance(e, dict) and SAFE_ID.match(str(e.get("id") or ""))]
        except (ToolError, ValueError, TypeError, KeyError, AttributeError):
            return [n for n in self.cached_libraries() if n not in COMPOSITES]  # offline: the last known list
        path.write_text(json.dumps({"fetched_at": time.time(), "libraries": libraries}))
        return [e["id"] for e in libraries]

    # ---- pages of one library --------------------------------------------------------------------------
    async def sidebar(self, library: str) -> list[dict[str, str]]:
        """(title, url) of every page in the library's sidebar navigation."""
        from bs4 import BeautifulSoup

        self.fetches += 1
        page = await get_optional(self.config, f"{self.hub}/docs/{library}", service="the docs site")
        if page is None:
            raise ToolError(f"the docs site has no library {library!r} (HTTP 404)")
        soup = BeautifulSoup(page.text, "html.parser")
        navs = soup.find_all("nav")
        # The site's sidebar is the navigation with the most links into this library.
        prefix = f"/docs/{library}/"
        best = max(navs, key=lambda n: sum(1 for a in n.find_all("a", href=True) if prefix in a["href"]),
                   default=soup)
        pages: dict[str, dict[str, str]] = {}
        for link in best.find_all("a", href=True):
            url = urljoin(f"{self.hub}/docs/{library}", link["href"]).split("#")[0].split("?")[0].rstrip("/")
            # Same site only: a link elsewhere in the sidebar is never fetched (nor sent the token).
            same_site = urlparse(url).netloc == urlparse(self.hub).netloc
            if same_site and urlparse(url).path.startswith(prefix) and url not in pages:
                pages[url] = {"title": " ".join(link.get_text(" ").split()) or url.rsplit("/", 1)[-1], "url": url}
        return list(pages.values())

    async def _page_text(self, url: str, gate: asyncio.Semaphore) -> str:
        async with gate:
            self.fetches += 1
            try:
                response = await get_optional(self.config, f"{url}.md", service="the docs site")
                if response is None:  # no markdown twin: the HTML page, converted
                    self.fetches += 1
                    response = await get_optional(self.config, url, service="the docs site")
            except ToolError:
                return ""
        if response is None:
            return ""
        text = response.text[:PAGE_CHARS]
        if "html" in response.headers.get("content-type", "") or text.lstrip().startswith("<"):
            text = html_to_markdown(text)
        return text

    # ---- the search index ------------------------------------------------------------------------------
    async def index(self, library: str) -> tuple[Any, list[dict[str, str]]]:
        """The library's BM25 index and page list: from memory, else from disk if fresh, else built now."""
        if library in self._open:
            return self._open[library]
        folder = self.config.cache_dir("docs", self.site, library)
        manifest = folder / "pages.json"
        try:
            data = json.loads(manifest.read_text())
            if time.time() - float(data["built_at"]) < self.config.docs_pages_ttl_s:
                opened = open_index(folder / "bm25")
                if opened is not None:
                    self._open[library] = (opened, data["pages"])
                    return self._open[library]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        pages = await self.sidebar(library)
        if not pages:
            raise ToolError(f"the {library} docs have no pages in their navigation; the page layout may have "
                            f"changed: fetch {self.hub}/docs/{library} with fetch_hf_docs instead")
        gate = asyncio.Semaphore(FETCH_CONCURRENCY)
        texts = await asyncio.gather(*(self._page_text(p["url"], gate) for p in pages))
        docs = [{"title": p["title"], "body": text, "url": p["url"], "glimpse": " ".join(text.split())[:GLIMPSE_CHARS]}
                for p, text in zip(pages, texts, strict=True)]
        built = await asyncio.to_thread(build_index, docs, ("title", "body"), ("url", "glimpse"), folder / "bm25")
        listing = [{"title": d["title"], "url": d["url"], "glimpse": d["glimpse"]} for d in docs]
        manifest.write_text(json.dumps({"built_at": time.time(), "unread": sum(1 for t in texts if not t),
                                        "pages": listing}))
        self._open[library] = (built, listing)
        return self._open[library]


def _members(endpoint: str, known: list[str]) -> list[str]:
    members = [m for m in COMPOSITES.get(endpoint, (endpoint,)) if m in known]
    if not members:
        raise ToolError(f"the docs site has no library {endpoint!r}; it has: {', '.join(sorted(known))}")
    return members


def make_docs_tools(config: ToolsConfig) -> list[Tool]:
    catalog = DocsCatalog(config)
    names = catalog.cached_libraries()

    async def explore_hf_docs(endpoint: str, query: str | None = None, max_results: int = 10) -> str:
        """Find the right page of a Hugging Face library's docs: list its pages, or search them (BM25, stemmed).

        Use it before writing code against a library: argument names change between versions and the docs are
        current (e.g. endpoint="trl", query="SFTConfig packing" before configuring SFTTrainer). Then read the page
        with fetch_hf_docs(url). The first search of a library reads all its pages once (a few seconds) and keeps a
        search index on disk; later searches are instant and need no network. Pitfalls: query with API words
        ("gradient_checkpointing", "LoraConfig target_modules"), not a whole question; "courses" covers the HF
        courses and cookbook; for the Hub's REST API use find_hf_api instead.

        Args:
            endpoint: the library whose docs to explore, e.g. "transformers", "trl", "peft", "datasets", "hub".
            query: words to search for, e.g. "DPOConfig beta loss_type"; without it, the list of pages.
            max_results: pages to show (1-50, default 10).
        """
        limit = max(1, min(max_results, 50))
        known = await catalog.libraries()
        members = _members(endpoint, known)
        listings: list[dict[str, str]] = []
        hits = []
        for member in members:
            index, pages = await catalog.index(member)
            listings += pages
            if query:
                hits += search(index, query, ("title", "body"), {"title": 2.0}, limit, snippet_field="body")
        if not query:
            lines = [f"{len(listings)} pages in the {endpoint} docs; showing {min(limit, len(listings))} "
                     "(search with query=...):"]
            lines += [f"- {p['title']}: {p['url']}\n  {p['glimpse']}" for p in listings[:limit]]
            return cap("\n".join(lines), 12_000)
        hits.sort(key=lambda h: -h.score)
        if not hits:
            return (f"No page of the {endpoint} docs matches {query!r} ({len(listings)} pages searched). Try other "
                    "words (API names work best), or list the pages without a query.")
        lines = [f"{min(limit, len(hits))} of {len(listings)} pages of the {endpoint} docs match {query!r} (best "
                 "first; read one with fetch_hf_docs(url)):"]
        for hit in hits[:limit]:
            lines.append(f"- {hit.fields['title']}: {hit.fields['url']} (score {hit.score:.1f})\n"
                         f"  {hit.snippet or hit.fields['glimpse']}")
        return cap("\n".join(lines), 12_000)

    explore_hf_docs.__annotations__["endpoint"] = Literal[tuple(names)]  # type: ignore[misc]
    tool = Tool.from_function(explore_hf_docs, read_only=True)
    return [tool]
