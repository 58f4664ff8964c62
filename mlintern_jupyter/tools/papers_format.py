"""How hf_papers shows papers, citations, snippets and linked Hub resources: compact lines, ids first.

Every list ends with the next step to take, so the model learns the crawl (search -> details -> citation_graph ->
read_paper -> find_all_resources -> hf_inspect_dataset).
"""

from __future__ import annotations

from typing import Any

from .s2 import arxiv_of

SUMMARY_CHARS = 280
CONTEXT_CHARS = 200


def short(text: Any, limit: int = SUMMARY_CHARS) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hub_paper_list(papers: list[Any], heading: str, hub: str) -> str:
    """Papers from the Hub (huggingface_hub PaperInfo)."""
    lines = [f"# {heading}", f"{len(papers)} paper(s)", ""]
    for i, p in enumerate(papers, 1):
        lines.append(f"{i}. {p.title or '(untitled)'} | arxiv_id: {p.id} | upvotes: {p.upvotes or 0}"
                     + (f" | published {p.published_at:%Y-%m-%d}" if p.published_at else ""))
        if p.ai_keywords:
            lines.append(f"   keywords: {', '.join(p.ai_keywords[:6])}")
        if p.github_repo:
            lines.append(f"   code: {p.github_repo} ({p.github_stars or 0} stars)")
        summary = p.ai_summary or p.summary
        if summary:
            lines.append(f"   {short(summary)}")
    lines += ["", "Next: paper_details or read_paper with an arxiv_id; citation_graph to see what built on it."]
    return "\n".join(lines)


def s2_paper_line(i: int, paper: dict[str, Any]) -> list[str]:
    arxiv = arxiv_of(paper)
    ident = f"arxiv_id: {arxiv}" if arxiv else f"id: CorpusId:{paper.get('corpusId')}" if paper.get("corpusId") \
        else f"id: {paper.get('paperId', '?')}"
    meta = [f"{paper.get('year') or '?'}", f"{paper.get('citationCount') or 0} citations"]
    if paper.get("influentialCitationCount"):
        meta.append(f"{paper['influentialCitationCount']} influential")
    if paper.get("venue"):
        meta.append(str(paper["venue"]))
    lines = [f"{i}. {paper.get('title') or '(untitled)'} | {ident} | {', '.join(meta)}"]
    tldr = (paper.get("tldr") or {}).get("text") if isinstance(paper.get("tldr"), dict) else None
    if tldr:
        lines.append(f"   TL;DR: {short(tldr)}")
    return lines


def s2_paper_list(papers: list[dict[str, Any]], heading: str, total: int | None = None) -> str:
    lines = [f"# {heading}", f"{len(papers)} shown" + (f" of {total:,}" if total else ""), ""]
    for i, paper in enumerate(papers, 1):
        lines += s2_paper_line(i, paper)
    lines += ["", "Next: paper_details / read_paper / citation_graph with an arxiv_id from above."]
    return "\n".join(lines)


def paper_details(paper: Any, s2: dict[str, Any] | None, s2_note: str, hub: str) -> str:
    lines = [f"# {paper.title}", f"arxiv_id: {paper.id} | upvotes: {paper.upvotes or 0}"
             + (f" | published {paper.published_at:%Y-%m-%d}" if paper.published_at else "")]
    if s2:
        lines.append(f"citations: {s2.get('citationCount') or 0} ({s2.get('influentialCitationCount') or 0} "
                     f"influential), references: {s2.get('referenceCount') or 0}"
                     + (f", venue: {s2['venue']}" if s2.get("venue") else ""))
        fields = [f.get("category") for f in s2.get("s2FieldsOfStudy") or [] if isinstance(f, dict)]
        if fields:
            lines.append(f"fields: {', '.join(dict.fromkeys(f for f in fields if f))}")
    elif s2_note:
        lines.append(f"citations: unknown ({s2_note})")
    lines += [f"{hub}/papers/{paper.id}", f"https://arxiv.org/abs/{paper.id}"]
    if paper.authors:
        names = [a.name for a in paper.authors[:10] if getattr(a, "name", None)]
        more = f" (+{len(paper.authors) - 10} more)" if len(paper.authors) > 10 else ""
        lines.append(f"authors: {', '.join(names)}{more}")
    if paper.github_repo:
        lines.append(f"code: {paper.github_repo} ({paper.github_stars or 0} stars)")
    if paper.ai_keywords:
        lines.append(f"keywords: {', '.join(paper.ai_keywords[:10])}")
    tldr = ((s2 or {}).get("tldr") or {}).get("text") if isinstance((s2 or {}).get("tldr"), dict) else None
    if tldr:
        lines += ["", f"TL;DR: {tldr}"]
    if paper.summary:
        lines += ["", "Abstract:", short(paper.summary, 1500)]
    lines += ["", "Next: read_paper (sections) for the method and results; citation_graph direction=citations for "
                  "what built on it; find_all_resources for its datasets and models on the Hub."]
    return "\n".join(lines)


def citation_entry(entry: dict[str, Any], key: str, with_context: bool) -> list[str]:
    paper = entry.get(key) or {}
    arxiv = arxiv_of(paper)
    flag = " [influential]" if entry.get("isInfluential") else ""
    ident = f" | arxiv_id: {arxiv}" if arxiv else (f" | id: CorpusId:{paper['corpusId']}" if paper.get("corpusId")
                                                   else "")
    lines = [f"- {paper.get('title') or '(untitled)'} ({paper.get('year') or '?'}, "
             f"{paper.get('citationCount') or 0} citations){flag}{ident}"]
    if with_context:
        intents = [i for i in entry.get("intents") or [] if i]
        if intents:
            lines.append(f"  intent: {', '.join(intents)}")
        for context in (entry.get("contexts") or [])[:1]:
            lines.append(f"  > {short(context, CONTEXT_CHARS)}")
    return lines


def rank_edges(edges: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Influential first, then the most cited: the order a researcher reads them in."""
    return sorted(edges, key=lambda e: (not e.get("isInfluential"), -int((e.get(key) or {}).get("citationCount")
                                                                         or 0)))


def citation_graph(arxiv_id: str, counts: dict[str, Any] | None, references: list[dict[str, Any]] | None,
                   citations: list[dict[str, Any]] | None, limit: int) -> str:
    lines = [f"# Citation graph of {arxiv_id}"]
    if counts:
        lines.append(f"{counts.get('title') or ''} | {counts.get('citationCount') or 0} citations "
                     f"({counts.get('influentialCitationCount') or 0} influential), "
                     f"{counts.get('referenceCount') or 0} references")
    for name, edges, key, context in (("Cited by (downstream: papers that build on it)", citations, "citingPaper",
                                       True), ("References (upstream)", references, "citedPaper", False)):
        if edges is None:
            continue
        ranked = rank_edges(edges, key)[:limit]
        influential = sum(1 for e in edges if e.get("isInfluential"))
        lines += ["", f"## {name}: {len(ranked)} shown of {len(edges)} fetched, {influential} influential"]
        for edge in ranked:
            lines += citation_entry(edge, key, context)
        if not edges:
            lines.append("none found")
    lines += ["", "Next: read_paper on the influential, well-cited downstream papers (their method sections); "
                  "citation_graph on one of them to go a level deeper."]
    return "\n".join(lines)


def snippets(items: list[dict[str, Any]], query: str) -> str:
    lines = [f"# Passages matching {query!r}", f"{len(items)} passage(s)", ""]
    for i, item in enumerate(items, 1):
        paper = item.get("paper") or {}
        snippet = item.get("snippet") or {}
        ident = f"CorpusId:{paper['corpusId']}" if paper.get("corpusId") else "?"
        where = snippet.get("section") or snippet.get("snippetKind") or ""
        lines.append(f"{i}. {paper.get('title') or '(untitled)'} | id: {ident}" + (f" | {where}" if where else ""))
        lines.append(f"   > {short(snippet.get('text'), 450)}")
    lines += ["", "Next: paper_details / citation_graph take these ids (CorpusId:...); read_paper needs the arXiv id "
                  "(paper_details shows it)."]
    return "\n".join(lines)


def repo_list(kind: str, items: list[Any], arxiv_id: str, sort: str) -> str:
    lines = [f"# {kind.capitalize()} linked to paper {arxiv_id} (by {sort})", f"{len(items)} found", ""]
    for item in items:
        meta = [f"{getattr(item, 'downloads', 0) or 0:,} downloads", f"{getattr(item, 'likes', 0) or 0} likes"]
        if getattr(item, "pipeline_tag", None):
            meta.append(item.pipeline_tag)
        if getattr(item, "library_name", None):
            meta.append(item.library_name)
        lines.append(f"- {item.id} ({', '.join(meta)})")
    if not items:
        lines.append(f"none: no {kind} on the Hub cites arxiv:{arxiv_id} in its card")
    elif kind == "datasets":
        lines += ["", f"Next: hf_inspect_dataset(dataset=\"{items[0].id}\") to check columns and format."]
    return "\n".join(lines)


def collection_list(items: list[Any], arxiv_id: str) -> str:
    lines = [f"# Collections containing paper {arxiv_id}", f"{len(items)} found", ""]
    for c in items:
        owner = c.owner.get("name", "") if isinstance(c.owner, dict) else str(c.owner or "")
        lines.append(f"- {c.title} by {owner} ({c.upvotes or 0} upvotes, {len(c.items)} items shown): "
                     f"{c.url}" + (f"\n  {short(c.description)}" if c.description else ""))
    if not items:
        lines.append("none")
    return "\n".join(lines)
