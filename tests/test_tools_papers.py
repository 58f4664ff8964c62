"""hf_papers: every operation through the real clients (huggingface_hub against the fake Hub, httpx against the fake
Semantic Scholar), and what the model reads when an id is wrong or Semantic Scholar is rate limiting or down."""

# ruff: noqa: F811

from __future__ import annotations

import time

import pytest

from mlintern_jupyter.tools.config import ToolsConfig
from mlintern_jupyter.tools.papers import make_paper_tools
from tests.fakes.fixtures import fake_hub, fake_s2  # noqa: F401
from tests.test_tools_support import Collector, outcome, run

DPO = "2305.18290"


def _config(hub, s2, **extra) -> ToolsConfig:
    settings = {"s2_api_key": None, "s2_backoff_s": 0.01, **extra}
    return ToolsConfig(hf_endpoint=hub.url, hf_token=hub.token, datasets_server_url=hub.url,
                       arxiv_html_url=hub.url + "/arxiv/html", s2_api_url=s2.url, **settings)


@pytest.fixture
def world(fake_hub, fake_s2):
    fake_hub.add_paper(DPO, "Direct Preference Optimization", "DPO trains from preferences.", upvotes=99,
                       sections={"1 Introduction": "RLHF is complex.", "4 Method": "We derive the DPO loss with "
                                 "$beta$ as temperature.", "4.1 Setup": "We use a learning rate of 5e-7.",
                                 "5 Experiments": "DPO matches PPO on summarization."})
    fake_hub.add_paper("2402.03300", "DeepSeekMath", "GRPO for math.", upvotes=50)
    fake_hub.add_repo("org/dpo-model", tags=[f"arxiv:{DPO}"])
    fake_hub.add_repo("org/prefs", repo_type="dataset", tags=[f"arxiv:{DPO}"])
    fake_hub.add_collection("org/alignment-123", "Alignment papers", items=[f"papers/{DPO}", "models/org/dpo-model"],
                            upvotes=7)
    root = fake_s2.add_paper(DPO, "Direct Preference Optimization", year=2023, citations=4000, influential=600,
                             venue="NeurIPS", tldr="A simple RL-free preference objective.")
    kto = fake_s2.add_paper("2402.01306", "KTO: Model Alignment as Prospect Theoretic Optimization", citations=300)
    simpo = fake_s2.add_paper("2405.14734", "SimPO: Simple Preference Optimization", citations=500)
    blog = fake_s2.add_paper(None, "A blog-like survey", citations=3)
    rlhf = fake_s2.add_paper("2203.02155", "Training language models to follow instructions", citations=9000)
    fake_s2.cite(kto, root, context="we build on DPO", intents=("methodology",))
    fake_s2.cite(simpo, root, influential=True, context="SimPO removes the reference model of DPO")
    fake_s2.cite(blog, root)
    fake_s2.cite(root, rlhf, influential=True)
    fake_s2.add_snippet(simpo, "4 Experiments", "SimPO uses a learning rate of 1e-6 and beta 2.0 on UltraFeedback.")
    return fake_hub, fake_s2


def _tool(config):
    return make_paper_tools(config)[0]


def test_every_operation_through_the_real_clients(tmp_path, world):
    hub, s2 = world
    papers = _tool(_config(hub, s2))
    col = Collector(tmp_path / "ws")

    async def go(**args):
        return await outcome(papers, col.ctx, **args)

    async def all_ops():
        return {name: await go(**args) for name, args in {
            "trending": {"operation": "trending", "query": "preference"},
            "search": {"operation": "search", "query": "preference"},
            "filtered": {"operation": "search", "query": "preference optimization", "min_citations": 100,
                         "date_from": "2023-01-01", "categories": "Computer Science"},
            "by_citations": {"operation": "search", "query": "optimization", "sort_by": "citationCount"},
            "details": {"operation": "paper_details", "arxiv_id": f"arXiv:{DPO}v2"},
            "toc": {"operation": "read_paper", "arxiv_id": DPO},
            "method": {"operation": "read_paper", "arxiv_id": DPO, "section": "4"},
            "setup": {"operation": "read_paper", "arxiv_id": DPO, "section": "setup"},
            "graph": {"operation": "citation_graph", "arxiv_id": DPO, "direction": "citations"},
            "both": {"operation": "citation_graph", "arxiv_id": DPO},
            "snippets": {"operation": "snippet_search", "query": "learning rate"},
            "recommend": {"operation": "recommend", "arxiv_id": DPO},
            "multi": {"operation": "recommend", "positive_ids": f"{DPO},2402.01306", "negative_ids": "2203.02155"},
            "datasets": {"operation": "find_datasets", "arxiv_id": DPO},
            "models": {"operation": "find_models", "arxiv_id": DPO, "sort": "likes"},
            "collections": {"operation": "find_collections", "arxiv_id": DPO},
            "all": {"operation": "find_all_resources", "arxiv_id": DPO},
            "all_alias": {"operation": "find_all", "arxiv_id": DPO},
        }.items()}

    out = run(all_ops())
    assert "Direct Preference Optimization | arxiv_id: 2305.18290" in out["trending"]
    assert "DeepSeekMath" not in out["trending"]  # filtered by the query
    assert "arxiv_id: 2305.18290 | upvotes: 99" in out["search"]
    # filters go to Semantic Scholar's relevance search; a sort order to its bulk search
    assert "Semantic Scholar, filtered" in out["filtered"] and "SimPO" in out["filtered"] and "survey" not in out["filtered"]
    relevance = s2.requests.find(path="/graph/v1/paper/search")[0].query
    assert relevance["minCitationCount"] == "100" and relevance["publicationDateOrYear"] == "2023-01-01:"
    assert relevance["fieldsOfStudy"] == "Computer Science"
    bulk = s2.requests.find(path="/graph/v1/paper/search/bulk")[0].query
    assert bulk["sort"] == "citationCount:desc"
    assert out["by_citations"].index("Direct Preference") < out["by_citations"].index("SimPO")
    assert "citations: 4000 (600 influential)" in out["details"] and "venue: NeurIPS" in out["details"]
    assert "TL;DR: A simple RL-free preference objective." in out["details"] and "read_paper" in out["details"]
    assert s2.requests.find(path="/graph/v1/paper/ARXIV:2305.18290")
    # the table of contents, numbered; a section with its subsections and LaTeX; a subsection by title words
    assert "- 4 Method: We derive" in out["toc"] and "  - 4.1 Setup:" in out["toc"]
    assert "read from arXiv HTML" in out["toc"] and "References" not in out["toc"]
    assert out["method"].startswith("# 4 Method") and "$\\beta$" in out["method"] and "5e-7" in out["method"]
    assert out["setup"].startswith("# 4.1 Setup") and "5e-7" in out["setup"]
    # downstream first: the influential citation leads, with its intent and context
    graph = out["graph"]
    assert "4000 citations (600 influential)" in graph and "References" not in graph
    assert graph.index("SimPO") < graph.index("KTO") < graph.index("survey")
    assert "SimPO: Simple Preference Optimization (2023, 500 citations) [influential] | arxiv_id: 2405.14734" in graph
    assert "> SimPO removes the reference model of DPO" in graph and "intent: methodology" in graph
    assert "## References (upstream): 1 shown of 1 fetched, 1 influential" in out["both"]
    edges = s2.requests.find(path="/graph/v1/paper/ARXIV:2305.18290/citations")[0].query
    assert "isInfluential" in edges["fields"] and "contexts" in edges["fields"]
    assert "learning rate of 1e-6" in out["snippets"] and "CorpusId:" in out["snippets"]
    assert "SimPO" in out["recommend"] and s2.requests.find(method="POST", path="/recommendations/v1/papers/")
    posted = s2.requests.find(method="POST")[0].json()
    assert posted == {"positivePaperIds": ["ARXIV:2305.18290", "ARXIV:2402.01306"],
                      "negativePaperIds": ["ARXIV:2203.02155"]}
    assert "- org/prefs (" in out["datasets"] and "hf_inspect_dataset(dataset=\"org/prefs\")" in out["datasets"]
    assert "- org/dpo-model (" in out["models"] and "(by likes)" in out["models"]
    assert "Alignment papers by fake-org (7 upvotes" in out["collections"]
    for text in (out["all"], out["all_alias"]):
        assert "org/prefs" in text and "org/dpo-model" in text and "Alignment papers" in text
    # the HF token went to the Hub only; Semantic Scholar got no credential at all (no key configured)
    assert all(r.authorization is None and "x-api-key" not in r.headers for r in s2.requests)
    assert any(r.authorization == f"Bearer {hub.token}" for r in hub.requests)


def test_read_paper_falls_back_to_the_hubs_markdown_then_the_abstract(tmp_path, world):
    hub, s2 = world
    hub.fail("papers.arxiv_html", 404)
    papers = _tool(_config(hub, s2))
    col = Collector(tmp_path / "ws")
    toc = run(outcome(papers, col.ctx, operation="read_paper", arxiv_id=DPO))
    section = run(outcome(papers, col.ctx, operation="read_paper", arxiv_id=DPO, section="5"))
    assert "read from the Hub's paper page" in toc and "- 5 Experiments" in toc
    assert "DPO matches PPO" in section
    hub.fail("papers.markdown", 404)
    abstract = run(outcome(papers, col.ctx, operation="read_paper", arxiv_id=DPO))
    assert "abstract only" in abstract and "DPO trains from preferences." in abstract


def test_bad_ids_and_missing_sections_are_short_answers(tmp_path, world):
    hub, s2 = world
    papers = _tool(_config(hub, s2))
    col = Collector(tmp_path / "ws")

    async def go():
        return [await outcome(papers, col.ctx, **args) for args in (
            {"operation": "paper_details", "arxiv_id": "9999.99999"},
            {"operation": "read_paper", "arxiv_id": "../../etc/passwd"},
            {"operation": "read_paper", "arxiv_id": DPO, "section": "Appendix Z"},
            {"operation": "citation_graph", "arxiv_id": "9999.99999"},
            {"operation": "citation_graph"},
            {"operation": "search"},
            {"operation": "search", "query": "x", "date_from": "last year"},
        )]

    missing, traversal, section, unknown_graph, no_id, no_query, bad_date = run(go())
    assert "not on the Hub (HTTP 404)" in missing and "operation='search'" in missing
    assert "needs an arXiv id" in traversal and not hub.requests.find(path="*etc/passwd*")
    assert "no section 'Appendix Z'" in section and "4 Method" in section
    assert "does not know this paper" in unknown_graph and "Paper with id ARXIV:9999.99999 not found" in unknown_graph
    assert "needs `arxiv_id`" in no_id and "needs `query`" in no_query and "2024-01-31" in bad_date
    for text in (missing, traversal, section, unknown_graph, no_id, no_query, bad_date):
        assert text.startswith("Error: ") and len(text) < 600


def test_semantic_scholar_rate_limiting_backoff_key_and_outage(tmp_path, world):
    hub, s2 = world
    s2.api_key = "s2-key-123"
    papers = _tool(_config(hub, s2, s2_api_key="s2-key-123", s2_min_interval_s=0.0))
    col = Collector(tmp_path / "ws")
    # two 429s (the second with Retry-After), then an answer: the call succeeds after waiting
    s2.fail("citations", 429, times=1)
    s2.fail("citations", 429, times=1, retry_after=0.2)
    started = time.monotonic()
    graph = run(outcome(papers, col.ctx, operation="citation_graph", arxiv_id=DPO, direction="citations"))
    assert "SimPO" in graph and time.monotonic() - started >= 0.2
    assert len(s2.requests.find(route="citations")) == 3
    assert all(r.headers.get("x-api-key") == "s2-key-123" for r in s2.requests)
    assert not any("x-api-key" in r.headers for r in hub.requests)  # the key goes to Semantic Scholar only
    # the same question again is answered from memory
    before = len(s2.requests)
    run(outcome(papers, col.ctx, operation="citation_graph", arxiv_id=DPO, direction="citations"))
    assert len(s2.requests) == before
    # rate limited for good: a short answer that says what happened and what to do, after bounded tries
    s2.fail("snippets", 429)
    limited = run(outcome(papers, col.ctx, operation="snippet_search", query="learning rate"))
    assert "rate limiting these requests (HTTP 429) after 4 tries" in limited and "retry in a minute" in limited
    assert len(s2.requests.find(route="snippets")) == 4 and len(limited) < 500
    # a filtered search falls back to the Hub's search and says the filters were not applied
    s2.fail("search", 503)
    fallback = run(outcome(papers, col.ctx, operation="search", query="preference", min_citations=10))
    assert "filters were NOT applied" in fallback and "arxiv_id: 2305.18290" in fallback


def test_semantic_scholar_without_key_and_down(tmp_path, world):
    hub, s2 = world
    s2.fail("paper", 429)
    papers = _tool(_config(hub, s2, s2_retries=1))
    col = Collector(tmp_path / "ws")
    details = run(outcome(papers, col.ctx, operation="paper_details", arxiv_id=DPO))
    # the Hub part still answers; the missing counts say why
    assert "Direct Preference Optimization" in details and "citations: unknown (Semantic Scholar is rate" in details
    assert len(s2.requests.find(route="paper")) == 2  # one retry (s2_retries=1), then the short answer
    # other routes are not limited: recommendations still answer
    assert "Papers like 2305.18290" in run(outcome(papers, col.ctx, operation="recommend", arxiv_id=DPO))
    limited = run(outcome(papers, col.ctx, operation="paper_details", arxiv_id="CorpusId:123"))
    assert "set S2_API_KEY" in limited and len(limited) < 500
    s2.stop()
    down = run(outcome(papers, col.ctx, operation="citation_graph", arxiv_id=DPO))
    assert down.startswith("Error: could not reach Semantic Scholar") and "work from the Hub alone" in down
    assert len(down) < 400
