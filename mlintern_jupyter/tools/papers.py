"""hf_papers: the literature crawl. Hub papers through huggingface_hub; citations, snippets, filtered search and
recommendations through Semantic Scholar; paper text from arXiv's HTML, else the Hub's markdown of the paper page.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Literal
from urllib.parse import quote

from . import papers_format as fmt
from .arxiv import Paper, find_section, parse_arxiv_html, parse_markdown_paper, section_text, table_of_contents
from .config import ToolsConfig
from .errors import from_hub_exception
from .htmltext import cap, get_optional
from .jobs.hf import call, make_api
from .registry import Tool, ToolError
from .s2 import ARXIV_ID, PAPER_FIELDS, S2NotFound, SemanticScholar, s2_paper_id

Operation = Literal["trending", "search", "paper_details", "read_paper", "citation_graph", "snippet_search",
                    "recommend", "find_datasets", "find_models", "find_collections", "find_all_resources", "find_all"]
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
# Edges fetched per direction: enough to rank by influence and citations, one request each.
GRAPH_FETCH = 100
DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
HUB_SORT = {"downloads": "downloads", "likes": "likes", "trending": "trending_score"}
EDGE_FIELDS = "contexts,intents,isInfluential,title,externalIds,year,citationCount,venue"
NEEDS_ID = {"paper_details", "read_paper", "citation_graph", "find_datasets", "find_models", "find_collections",
            "find_all_resources", "find_all"}


def make_paper_tools(config: ToolsConfig) -> list[Tool]:
    hub = config.hf_endpoint.rstrip("/")
    s2 = SemanticScholar(config)

    def api() -> Any:
        return make_api(hub, config.resolved_hf_token())

    async def hub_paper(arxiv_id: str) -> Any:
        try:
            return await asyncio.to_thread(api().paper_info, arxiv_id)
        except Exception as exc:  # noqa: BLE001 - mapped by status below and in from_hub_exception
            if getattr(getattr(exc, "response", None), "status_code", None) == 404:
                raise ToolError(f"paper {arxiv_id!r} is not on the Hub (HTTP 404): check the arXiv id (like "
                                "2305.18290), or find it with operation='search'") from None
            raise from_hub_exception(exc, "the Hub (papers)") from None

    async def search(query: str, date_from: str | None, date_to: str | None, categories: str | None,
                     min_citations: int | None, sort_by: str | None, limit: int) -> str:
        filtered = any((date_from, date_to, categories, min_citations)) or sort_by not in (None, "relevance")
        note = ""
        if filtered:
            params: dict[str, Any] = {"query": query, "fields": PAPER_FIELDS, "limit": limit,
                                      **s2_filters(date_from, date_to, categories, min_citations)}
            # Relevance ranking lives on /paper/search; a sort order needs the bulk endpoint.
            path = "/graph/v1/paper/search"
            if sort_by in ("citationCount", "publicationDate"):
                path, params["sort"] = "/graph/v1/paper/search/bulk", f"{sort_by}:desc"
                params.pop("limit")
            try:
                data = await s2.get(path, params)
                found = (data.get("data") or [])[:limit]
                if not found:
                    return f"No papers match {query!r} with these filters; loosen them (fewer citations, wider dates)."
                return fmt.s2_paper_list(found, f"Papers matching {query!r} (Semantic Scholar, filtered)",
                                         data.get("total"))
            except ToolError as exc:
                note = f"(Semantic Scholar failed, so the filters were NOT applied: {exc})\n\n"
        papers = await call(lambda: list(api().list_papers(query=query, limit=limit)), what="the Hub (papers)")
        if not papers:
            return note + f"No papers on the Hub match {query!r}; try other words or snippet_search."
        return note + fmt.hub_paper_list(papers[:limit], f"Papers matching {query!r}", hub)

    async def trending(query: str | None, date: str | None, limit: int) -> str:
        if date and not DATE.match(date):
            raise ToolError(f"`date` looks like 2025-01-31, got {date!r}")
        fetch = max(limit * 3, 30) if query else limit
        papers = await call(lambda: list(api().list_daily_papers(date=date, limit=fetch, sort="trending")),
                            what="the Hub (daily papers)")
        if query:
            q = query.lower()
            papers = [p for p in papers if q in f"{p.title} {p.summary} {' '.join(p.ai_keywords or [])}".lower()]
        if not papers:
            return f"No trending papers{f' about {query!r}' if query else ''}{f' on {date}' if date else ''}."
        return fmt.hub_paper_list(papers[:limit], "Trending papers" + (f" ({date})" if date else ""), hub)

    async def details(arxiv_id: str) -> str:
        if bare_arxiv_id(arxiv_id) is None:
            data = await s2.get(s2.paper_path(arxiv_id), {"fields": PAPER_FIELDS + ",referenceCount,abstract"})
            return fmt.s2_paper_list([data], f"Paper {arxiv_id} (Semantic Scholar)") + (
                f"\n\nAbstract: {fmt.short(data.get('abstract'), 1500)}" if data.get("abstract") else "")
        paper, extra = await asyncio.gather(hub_paper(arxiv_id), s2_details(arxiv_id), return_exceptions=True)
        if isinstance(paper, BaseException):
            raise paper
        s2_data, note = extra if isinstance(extra, tuple) else (None, str(extra))
        return fmt.paper_details(paper, s2_data, note, hub)

    async def s2_details(arxiv_id: str) -> tuple[dict[str, Any] | None, str]:
        try:
            return await s2.get(s2.paper_path(arxiv_id), {"fields": PAPER_FIELDS + ",referenceCount,s2FieldsOfStudy"}
                                ), ""
        except ToolError as exc:
            return None, str(exc).split(";")[0]

    async def read(arxiv_id: str, section: str | None) -> str:
        paper = await load_paper(arxiv_id)
        if not section:
            return table_of_contents(paper, arxiv_id)
        found = find_section(paper.sections, section)
        if found is None:
            names = "; ".join(s.heading for s in paper.sections if s.level == 2) or "none"
            raise ToolError(f"no section {section!r} in {arxiv_id}; its sections: {names}")
        return section_text(found, arxiv_id)

    async def load_paper(arxiv_id: str) -> Paper:
        page = await get_optional(config, f"{config.arxiv_html_url.rstrip('/')}/{arxiv_id}", service="arXiv")
        if page is not None:
            parsed = parse_arxiv_html(page.text, "arXiv HTML")
            if parsed.sections:
                return parsed
        try:
            markdown = await call(api().read_paper, arxiv_id, what="the Hub (paper page)")
            parsed = parse_markdown_paper(markdown, "the Hub's paper page")
            if parsed.sections:
                return parsed
        except ToolError:
            pass
        info = await hub_paper(arxiv_id)
        return Paper(info.title or arxiv_id, info.summary or "", [], "the Hub (abstract only: arXiv has no HTML "
                     f"version; the PDF is https://arxiv.org/pdf/{arxiv_id})")

    async def graph(arxiv_id: str, direction: str, limit: int) -> str:
        wanted = [d for d in ("references", "citations") if direction in (d, "both")]
        params = {"fields": EDGE_FIELDS, "limit": GRAPH_FETCH}
        results = await asyncio.gather(s2.get(s2.paper_path(arxiv_id), {"fields": "title,citationCount,"
                                                                          "influentialCitationCount,referenceCount"}),
                                       *(s2.get(s2.paper_path(arxiv_id, f"/{d}"), params) for d in wanted),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, S2NotFound):
                raise result
        edges = {d: (r.get("data") or []) if isinstance(r, dict) else None for d, r in zip(wanted, results[1:],
                                                                                             strict=True)}
        if all(v is None for v in edges.values()):
            raise next(r for r in results[1:] if isinstance(r, BaseException))
        counts = results[0] if isinstance(results[0], dict) else None
        return fmt.citation_graph(arxiv_id, counts, edges.get("references"), edges.get("citations"), limit)

    async def snippet(query: str, date_from: str | None, date_to: str | None, categories: str | None,
                      min_citations: int | None, limit: int) -> str:
        params = {"query": query, "limit": limit, **s2_filters(date_from, date_to, categories, min_citations)}
        data = await s2.get("/graph/v1/snippet/search", params)
        items = (data.get("data") or [])[:limit]
        return fmt.snippets(items, query) if items else f"No passages match {query!r}; try fewer or other words."

    async def recommend(arxiv_id: str | None, positive_ids: str | None, negative_ids: str | None, limit: int) -> str:
        fields = "title,externalIds,year,citationCount,venue,tldr"
        if positive_ids:
            positive = [s2_paper_id(p) for p in positive_ids.split(",") if p.strip()]
            negative = [s2_paper_id(p) for p in (negative_ids or "").split(",") if p.strip()]
            data = await s2.post("/recommendations/v1/papers/", {"fields": fields, "limit": limit},
                                 {"positivePaperIds": positive, "negativePaperIds": negative})
            seed = positive_ids
        elif arxiv_id:
            path = f"/recommendations/v1/papers/forpaper/{quote(s2_paper_id(arxiv_id), safe=':')}"
            data = await s2.get(path, {"fields": fields, "limit": limit, "from": "recent"})
            seed = arxiv_id
        else:
            raise ToolError("recommend needs `arxiv_id` (one seed paper) or `positive_ids` (comma-separated)")
        papers = (data.get("recommendedPapers") or [])[:limit]
        return fmt.s2_paper_list(papers, f"Papers like {seed}") if papers else "No recommendations for these papers."

    async def linked(kind: str, arxiv_id: str, sort: str, limit: int) -> str:
        lister = api().list_datasets if kind == "datasets" else api().list_models
        items = await call(lambda: list(lister(filter=f"arxiv:{arxiv_id}", sort=HUB_SORT[sort], limit=limit)),
                           what=f"the Hub ({kind})")
        return fmt.repo_list(kind, items, arxiv_id, sort)

    async def collections(arxiv_id: str, limit: int) -> str:
        items = await call(lambda: list(api().list_collections(item=f"papers/{arxiv_id}", limit=limit)),
                           what="the Hub (collections)")
        return fmt.collection_list(items, arxiv_id)

    async def hf_papers(operation: Operation, query: str | None = None, arxiv_id: str | None = None,
                        section: str | None = None, direction: Literal["citations", "references", "both"] = "both",
                        date: str | None = None, date_from: str | None = None, date_to: str | None = None,
                        categories: str | None = None, min_citations: int | None = None,
                        sort_by: Literal["relevance", "citationCount", "publicationDate"] | None = None,
                        positive_ids: str | None = None, negative_ids: str | None = None,
                        sort: Literal["downloads", "likes", "trending"] = "downloads",
                        limit: int = DEFAULT_LIMIT) -> str:
        """Research papers: find them, read their methods, walk their citations, and find their Hub datasets/models.

        Start every non-trivial task here: published results say what works. The crawl a researcher does is
        search (landmark papers) -> paper_details -> citation_graph direction="citations" (what built on it,
        influential first) -> read_paper with a section (the method and experiments, not the abstract) ->
        find_all_resources -> hf_inspect_dataset. Operations:
        - trending: the Hub's daily papers, optionally about `query` or on `date`.
        - search: `query` over the Hub's papers; add date_from/date_to, categories, min_citations or sort_by to
          search Semantic Scholar with those filters (e.g. sort_by="citationCount", min_citations=100 for classics).
        - paper_details: metadata, citation counts, TL;DR, abstract, code link (`arxiv_id`).
        - read_paper: without `section` the abstract and numbered table of contents; with section="3" or
          section="Experiments" that section's full text (tables as markdown, math as LaTeX).
        - citation_graph: who cites it (with influential flags, citation intents, contexts) and what it cites.
        - snippet_search: passages from full texts matching `query` (claims, hyperparameters, comparisons).
        - recommend: similar papers to `arxiv_id`, or to `positive_ids` and away from `negative_ids`.
        - find_datasets / find_models / find_collections / find_all_resources: what the Hub links to the paper.
        Pitfalls: Semantic Scholar is rate limited (a 429 says so; S2_API_KEY raises the limit); very new papers
        are not indexed there for a few days; arXiv ids look like 2305.18290 (no "arXiv:" prefix needed).

        Args:
            operation: what to do, e.g. "citation_graph".
            query: search words for search / snippet_search / trending, e.g. "direct preference optimization".
            arxiv_id: the paper, e.g. "2305.18290" (Semantic Scholar ids like "CorpusId:215416146" work for
                paper_details, citation_graph and recommend).
            section: read_paper: a section number or title words, e.g. "4" or "Experimental setup".
            direction: citation_graph: "citations" (downstream, usually what you want), "references" or "both".
            date: trending: a day, e.g. "2025-01-31" (default: the latest).
            date_from: search / snippet_search: earliest publication date, e.g. "2024-01-01".
            date_to: search / snippet_search: latest publication date, e.g. "2024-12-31".
            categories: search / snippet_search: field of study, e.g. "Computer Science".
            min_citations: search / snippet_search: at least this many citations, e.g. 50.
            sort_by: search: "citationCount" or "publicationDate" (newest first); default relevance.
            positive_ids: recommend: comma-separated arXiv ids to find papers like, e.g. "2305.18290,2402.03300".
            negative_ids: recommend: comma-separated arXiv ids to steer away from.
            sort: find_datasets / find_models: "downloads" (default), "likes" or "trending".
            limit: results to show (1-50, default 10).
        """
        limit = max(1, min(limit, MAX_LIMIT))
        if operation in NEEDS_ID and not arxiv_id:
            raise ToolError(f"{operation} needs `arxiv_id` (e.g. \"2305.18290\"); find one with operation='search'")
        if operation in ("search", "snippet_search") and not (query and query.strip()):
            raise ToolError(f"{operation} needs `query`, e.g. query=\"direct preference optimization\"")
        paper_id = (arxiv_id or "").strip()
        if paper_id and operation in NEEDS_ID - {"paper_details", "citation_graph"}:
            bare = bare_arxiv_id(paper_id)
            if bare is None:
                raise ToolError(f"{operation} needs an arXiv id like \"2305.18290\", got {paper_id!r}; "
                                "paper_details on a Semantic Scholar id shows its arXiv id when it has one")
            paper_id = bare
        elif paper_id and bare_arxiv_id(paper_id):
            paper_id = bare_arxiv_id(paper_id) or paper_id
        match operation:
            case "trending":
                text = await trending(query, date, limit)
            case "search":
                text = await search(query or "", date_from, date_to, categories, min_citations, sort_by, limit)
            case "paper_details":
                text = await details(paper_id)
            case "read_paper":
                text = await read(paper_id, section)
            case "citation_graph":
                text = await graph(paper_id, direction, limit)
            case "snippet_search":
                text = await snippet(query or "", date_from, date_to, categories, min_citations, limit)
            case "recommend":
                text = await recommend(paper_id or None, positive_ids, negative_ids, limit)
            case "find_datasets" | "find_models":
                text = await linked(operation.removeprefix("find_"), paper_id, sort, limit)
            case "find_collections":
                text = await collections(paper_id, limit)
            case _:  # find_all_resources / find_all
                per_kind = min(limit, 10)
                parts = await asyncio.gather(linked("datasets", paper_id, sort, per_kind),
                                             linked("models", paper_id, sort, per_kind),
                                             collections(paper_id, per_kind), return_exceptions=True)
                text = "\n\n".join(p if isinstance(p, str) else f"(failed: {p})" for p in parts)
        return cap(text, 16_000, hint="ask for a smaller `limit` or a narrower section")

    return [Tool.from_function(hf_papers, read_only=True)]


def s2_filters(date_from: str | None, date_to: str | None, categories: str | None,
               min_citations: int | None) -> dict[str, Any]:
    """Semantic Scholar's search filters (the same on paper search, bulk search and snippet search)."""
    params: dict[str, Any] = {}
    for value in (date_from, date_to):
        if value and not DATE.match(value):
            raise ToolError(f"dates look like 2024-01-31 (or 2024-01, 2024), got {value!r}")
    if date_from or date_to:
        params["publicationDateOrYear"] = f"{date_from or ''}:{date_to or ''}"
    if categories:
        params["fieldsOfStudy"] = categories
    if min_citations:
        params["minCitationCount"] = str(min_citations)
    return params


def bare_arxiv_id(paper_id: str) -> str | None:
    """"arXiv:2305.18290v2" -> "2305.18290"; None for anything that is not an arXiv id."""
    match = ARXIV_ID.match(paper_id.strip())
    return match.group(1) if match else None
