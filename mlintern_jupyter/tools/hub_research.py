"""Read-only Hub research tools: hf_inspect_dataset, hf_papers, explore_hf_docs, fetch_hf_docs."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import quote

from .config import ToolsConfig
from .htmltext import cap, get, get_optional, html_to_text
from .registry import Tool, ToolError

SHOW_COLUMNS = 40
# Pages of one library's docs fetched to rank a query (transformers has a few hundred; the top of the sidebar
# holds the guides people need most).
MAX_DOC_PAGES = 80
CELL_CHARS = 300


def format_fit(columns: dict[str, str]) -> list[str]:
    """Which TRL training formats the columns fit (names and types as the dataset viewer reports them)."""
    names = set(columns)
    fits = []
    if "messages" in names or "conversations" in names:
        fits.append("SFT (conversational: a `messages` list of {role, content})")
    elif "text" in names:
        fits.append("SFT (language modelling: a `text` column)")
    elif {"prompt", "completion"} <= names:
        fits.append("SFT (prompt-completion)")
    if {"chosen", "rejected"} <= names:
        fits.append("DPO (preference: " + ("prompt, " if "prompt" in names else "implicit prompt, ")
                    + "chosen, rejected)")
    if "prompt" in names:
        fits.append("GRPO (a `prompt` column; reward functions may read "
                    + (", ".join(sorted(names & {"answer", "solution", "ground_truth"})) or "other columns") + ")")
    if {"prompt", "completion", "label"} <= names:
        fits.append("KTO (prompt, completion, boolean label)")
    return fits or ["none of SFT / DPO / GRPO directly: map the columns first (e.g. build `messages` or `prompt`)"]


def _feature_type(feature: Any) -> str:
    if isinstance(feature, dict):
        kind = feature.get("_type", "")
        if kind == "Value":
            return str(feature.get("dtype"))
        if kind == "ClassLabel":
            return f"ClassLabel({', '.join(map(str, feature.get('names', [])[:10]))})"
        return kind or "struct"
    if isinstance(feature, list):
        return "list[" + (_feature_type(feature[0]) if feature else "") + "]"
    return str(feature)


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= CELL_CHARS else text[:CELL_CHARS] + " ..."


class _ArxivSections(HTMLParser):
    """Title, abstract and <section> texts of an arXiv HTML (LaTeXML) page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.abstract = ""
        self.sections: list[list[str]] = []  # [heading, text]
        self._where: str | None = None
        self._in_heading = False
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if "ltx_title_document" in classes:
            self._where = "title"
        elif "ltx_abstract" in classes:
            self._where = "abstract"
        elif tag == "section" and "ltx_section" in classes:
            self.sections.append(["", ""])
            self._where = "section"
        elif tag in ("h2", "h3") and self._where == "section" and not self.sections[-1][0]:
            self._in_heading = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1",) and self._where == "title":
            self._where = None
        elif tag in ("h2", "h3"):
            self._in_heading = False
        elif tag == "div" and self._where == "abstract" or tag == "section":
            self._where = None

    def handle_data(self, data: str) -> None:
        if self._where == "title":
            self.title += data
        elif self._where == "abstract":
            self.abstract += data + " "
        elif self._where == "section" and self.sections:
            self.sections[-1][0 if self._in_heading else 1] += data + ("" if self._in_heading else " ")


def make_hub_research_tools(tc: ToolsConfig) -> list[Tool]:
    hub = tc.hf_endpoint.rstrip("/")
    viewer = tc.datasets_server_url.rstrip("/")

    async def hf_inspect_dataset(dataset: str, config: str | None = None, split: str | None = None,
                                 sample_rows: int = 3) -> str:
        """Inspect a Hub dataset: validity, configs and splits, features, first rows, and which formats it fits.

        Args:
            dataset: the dataset repo id, e.g. "stanfordnlp/imdb".
            config: the dataset config (default: the first one).
            split: the split (default: train, else the first).
            sample_rows: how many first rows to show (max 10).
        """
        valid = (await get(tc, f"{viewer}/is-valid", {"dataset": dataset}, service="the dataset viewer")).json()
        if not (valid.get("preview") or valid.get("viewer")):
            if await get_optional(tc, f"{hub}/api/datasets/{dataset}") is None:
                raise ToolError(f"dataset {dataset!r} was not found on the Hub (HTTP 404): check the name; a "
                                "private or gated dataset needs a token with access")
            return (f"{dataset}: the dataset viewer cannot read it (no preview). Look at its files with "
                    "hf_repo_files operation='list' repo_type='dataset'.")
        splits = (await get(tc, f"{viewer}/splits", {"dataset": dataset}, service="the dataset viewer")).json()
        pairs = [(s["config"], s["split"]) for s in splits.get("splits", [])]
        if not pairs:
            raise ToolError(f"{dataset} has no splits the viewer can read yet; retry later")
        configs = sorted({c for c, _ in pairs})
        cfg = config or configs[0]
        names = [s for c, s in pairs if c == cfg]
        if not names:
            raise ToolError(f"config {cfg!r} not found; configs: {', '.join(configs)}")
        chosen = split or ("train" if "train" in names else names[0])
        rows = (await get(tc, f"{viewer}/first-rows", {"dataset": dataset, "config": cfg, "split": chosen},
                          service="the dataset viewer")).json()
        features = {f["name"]: _feature_type(f["type"]) for f in rows.get("features", [])}
        out = [f"Dataset {dataset} (viewer: valid)", f"Configs: {', '.join(configs[:30])}",
               f"Splits of {cfg}: {', '.join(names)}; showing {chosen}",
               f"Features ({len(features)} columns):"]
        shown = list(features.items())[:SHOW_COLUMNS]
        out += [f"  {name}: {kind}" for name, kind in shown]
        if len(features) > SHOW_COLUMNS:
            kinds = Counter(features.values())
            out.append(f"  ... {len(features) - SHOW_COLUMNS} more columns; types over all columns: "
                       + ", ".join(f"{k} x{n}" for k, n in kinds.most_common(8)))
        out.append("Fits: " + "; ".join(format_fit(features)))
        for item in rows.get("rows", [])[: max(0, min(sample_rows, 10))]:
            row = item.get("row", {})
            cells = [f"{k}={_cell(v)}" for k, v in list(row.items())[:SHOW_COLUMNS // 2]]
            more = f" ... (+{len(row) - SHOW_COLUMNS // 2} columns)" if len(row) > SHOW_COLUMNS // 2 else ""
            out.append(f"Row {item.get('row_idx')}: " + "; ".join(cells) + more)
        return cap("\n".join(out), hint="ask for fewer sample_rows")

    async def hf_papers(operation: Literal["search", "trending", "details", "linked", "read"],
                        query: str | None = None, arxiv_id: str | None = None, section: str | None = None,
                        limit: int = 10) -> str:
        """Papers on the Hub: search, trending (daily papers), details, linked models/datasets, read sections.

        Args:
            operation: search (needs query), trending, details / linked / read (need arxiv_id).
            query: search words.
            arxiv_id: e.g. "2305.18290".
            section: for read: a section number or words of its title (default: the list of sections).
            limit: at most this many results (max 50).
        """
        limit = max(1, min(limit, 50))
        if operation in ("search", "trending"):
            if operation == "search" and not query:
                raise ToolError("search needs `query`")
            url, params = ((f"{hub}/api/papers/search", {"q": query, "limit": limit}) if operation == "search"
                           else (f"{hub}/api/daily_papers", {"limit": limit}))
            items = (await get(tc, url, params)).json()[:limit]
            return "\n".join(f"- {p['paper']['id']}: {p['title']} ({p['paper'].get('upvotes', 0)} upvotes)"
                             for p in items) or "No papers found."
        if not arxiv_id:
            raise ToolError(f"{operation} needs `arxiv_id`")
        pid = quote(arxiv_id.strip())
        if operation == "details":
            p = (await get(tc, f"{hub}/api/papers/{pid}")).json()
            authors = ", ".join(a.get("name", "") for a in p.get("authors", [])[:10])
            return cap(f"{p['title']} ({p['id']})\nAuthors: {authors}\nPublished: {p.get('publishedAt')}\n"
                       f"Upvotes: {p.get('upvotes', 0)}; code: {p.get('githubRepo') or '-'}\n\n{p.get('summary', '')}")
        if operation == "linked":
            out = []
            for kind in ("models", "datasets"):
                items = (await get(tc, f"{hub}/api/{kind}", {"filter": f"arxiv:{arxiv_id}", "limit": limit})).json()
                out.append(f"{kind} citing {arxiv_id}: " + (", ".join(i["id"] for i in items) or "none"))
            return "\n".join(out)
        page = await get_optional(tc, f"{tc.arxiv_html_url.rstrip('/')}/{pid}", service="arXiv")
        if page is None:
            raise ToolError(f"arXiv has no HTML version of {arxiv_id}; use operation='details' for the abstract")
        parsed = _ArxivSections()
        parsed.feed(page.text)
        sections = [(" ".join(h.split()), " ".join(t.split())) for h, t in parsed.sections]
        if not section:
            listing = "\n".join(f"- {h}" for h, _ in sections)
            return cap(f"{' '.join(parsed.title.split())}\n\nAbstract: {' '.join(parsed.abstract.split())}\n\n"
                       f"Sections (read one with section=...):\n{listing}")
        wanted = section.lower().strip()
        match = next((s for s in sections if s[0].lower().startswith(wanted) or wanted in s[0].lower()), None)
        if match is None:
            raise ToolError(f"no section {section!r}; sections: {', '.join(h for h, _ in sections)}")
        return cap(f"{match[0]}\n\n{match[1]}", hint="the section is long; ask for a narrower one")

    async def doc_pages(library: str) -> list[tuple[str, str]]:
        """(title, absolute URL) of every page in a library's docs sidebar."""
        page = await get(tc, f"{hub}/docs/{quote(library)}", service="the docs site")
        seen: dict[str, str] = {}
        for href, inner in re.findall(r'<a[^>]+href="(/docs/' + re.escape(library) + r'/[^"#?]+)"[^>]*>(.*?)</a>',
                                      page.text, re.S):
            seen.setdefault(f"{hub}{href}", " ".join(re.sub(r"<[^>]+>", " ", inner).split()))
        return [(title, url) for url, title in seen.items()]

    async def explore_hf_docs(library: str, query: str | None = None, limit: int = 10) -> str:
        """List the pages of one library's Hugging Face docs, or search them for a query.

        Args:
            library: the docs to explore, e.g. transformers, trl, datasets, huggingface_hub, peft, hub.
            query: what to look for, e.g. "SFTTrainer packing"; ranks the pages by title and content.
            limit: at most this many results.
        """
        pages = await doc_pages(library)
        if not pages:
            raise ToolError(f"no pages found in the {library!r} docs; check the library name (e.g. transformers)")
        limit = max(1, min(limit, 50))
        if not query:
            return "\n".join(f"- {title}: {url}" for title, url in pages[:200])
        terms = [t for t in re.findall(r"\w+", query.lower()) if len(t) > 1]
        gate = asyncio.Semaphore(8)

        async def score(title: str, url: str) -> tuple[int, str, str, str]:
            async with gate:  # the pages' markdown, a few at a time (the docs site serves each as URL + .md)
                response = await get_optional(tc, f"{url}.md", service="the docs site")
            text = response.text if response is not None else ""
            lowered = text.lower()
            points = sum(2 * title.lower().count(t) + lowered.count(t) for t in terms)
            first = min((lowered.find(t) for t in terms if t in lowered), default=0)
            return points, title, url, " ".join(text[max(0, first - 80):first + 200].split())

        ranked = sorted(await asyncio.gather(*(score(t, u) for t, u in pages[:MAX_DOC_PAGES])), reverse=True)
        hits = [r for r in ranked if r[0] > 0][:limit]
        return "\n".join(f"- {title}: {url}\n  {snippet}" for _, title, url, snippet in hits) or (
            f"No page of the {library} docs mentions {query!r}.")

    async def fetch_hf_docs(url: str) -> str:
        """Fetch one documentation page as text (a full URL, or "library/page" such as "trl/sft_trainer").

        Args:
            url: the page URL or "library/page".
        """
        if not url.startswith(("http://", "https://")):
            url = f"{hub}/docs/{url.strip('/')}"
        page = await get(tc, url, service="the docs site")
        return cap(html_to_text(page.text), hint="the page is long")

    return [Tool.from_function(f, read_only=True)
            for f in (hf_inspect_dataset, hf_papers, explore_hf_docs, fetch_hf_docs)]
