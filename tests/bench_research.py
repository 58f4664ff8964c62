"""Benchmark: research tools on the loopback fakes (the fake Hub and Semantic Scholar, in this process).

Run with `PYTHONPATH=. python tests/bench_research.py` (not collected by pytest). It prints, then writes as a last
JSON line:
- docs: the first `explore_hf_docs` query of a 300-page library (sidebar + every page fetched, BM25 index built and
  written to disk), a query after the first (goal: no network fetch, under 50 ms), a query from a new registry (the
  next session: the index read from disk), and, measured beside them, the previous algorithm (re-fetch the sidebar
  and the first 80 pages, count keywords) on the same library;
- crawl: `citation_graph` depth 2 from one paper (the root's downstream papers, then theirs): Semantic Scholar
  requests, wall time, characters and approximate tokens (chars / 4) returned to the model;
- research: the `research` sub-agent driven by a scripted model through a literature crawl: the answer that reaches
  the parent's context against the tool output the sub-agent read in its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlintern_jupyter.agent import events as ev  # noqa: E402
from mlintern_jupyter.agent.models import ScriptedModel  # noqa: E402
from mlintern_jupyter.agent.session import Session, SessionConfig  # noqa: E402
from mlintern_jupyter.tools import default_tools  # noqa: E402
from mlintern_jupyter.tools.config import ToolsConfig  # noqa: E402
from mlintern_jupyter.tools.docs import make_docs_tools  # noqa: E402
from mlintern_jupyter.tools.htmltext import get_optional  # noqa: E402
from mlintern_jupyter.tools.papers import make_paper_tools  # noqa: E402
from mlintern_jupyter.tools.registry import ToolContext  # noqa: E402
from tests.fakes import FakeHub  # noqa: E402
from tests.fakes.s2 import FakeSemanticScholar  # noqa: E402

PAGES = 300
ROOT_PAPER = "2305.18290"
FANOUT = (30, 20)  # papers citing the root, papers citing each of those


def ctx(workspace: Path) -> ToolContext:
    workspace.mkdir(parents=True, exist_ok=True)
    return ToolContext(session_id="bench", call_id="bench", workspace=workspace)


def docs_requests(hub: FakeHub) -> int:
    return len([r for r in hub.requests if r.path.startswith(("/docs", "/api/docs"))])


async def previous_algorithm(config: ToolsConfig, library: str, query: str) -> int:
    """What explore_hf_docs did before: the sidebar and the first 80 pages' markdown, fetched on every query."""
    hub = config.hf_endpoint
    page = await get_optional(config, f"{hub}/docs/{library}")
    links = list(dict.fromkeys(re.findall(r'href="(/docs/' + re.escape(library) + r'/[^"#?]+)"', page.text)))[:80]
    gate = asyncio.Semaphore(8)
    terms = re.findall(r"\w+", query.lower())

    async def score(href: str) -> int:
        async with gate:
            response = await get_optional(config, f"{hub}{href}.md")
        text = response.text.lower() if response is not None else ""
        return sum(text.count(t) for t in terms)

    scores = await asyncio.gather(*(score(h) for h in links))
    return sum(1 for s in scores if s)


def bench_docs(hub: FakeHub, config: ToolsConfig, workspace: Path) -> dict:
    hub.add_docs_library("peft", PAGES)
    tool = make_docs_tools(config)[0]
    c = ctx(workspace)

    def query(t, text: str) -> tuple[float, int, str]:
        before = docs_requests(hub)
        started = time.perf_counter()
        result = asyncio.run(t.run(t.validate({"endpoint": "peft", "query": text}), c)).content
        return (time.perf_counter() - started) * 1000, docs_requests(hub) - before, result

    first_ms, first_requests, first = query(tool, "gradient_checkpointing memory")
    after_ms = sorted(query(tool, f"word{i} topic") for i in range(1, 6))[2]  # median of 5
    next_ms, next_requests, _ = query(make_docs_tools(config)[0], "gradient_checkpointing")
    before = docs_requests(hub)
    started = time.perf_counter()
    asyncio.run(previous_algorithm(config, "peft", "word5 topic"))
    previous_ms = (time.perf_counter() - started) * 1000
    return {
        "pages": PAGES, "first_query_ms": round(first_ms), "first_query_requests": first_requests,
        "found_the_page": "Page 150 of peft" in first.splitlines()[1],
        "after_first_ms": round(after_ms[0], 2), "after_first_requests": after_ms[1],
        "next_session_ms": round(next_ms, 2), "next_session_requests": next_requests,
        "previous_ms": round(previous_ms), "previous_requests": docs_requests(hub) - before,
    }


def seed_graph(s2: FakeSemanticScholar) -> None:
    root = s2.add_paper(ROOT_PAPER, "Direct Preference Optimization", citations=None)
    for i in range(FANOUT[0]):
        child = s2.add_paper(f"2401.{i:05d}", f"Follow-up {i} of DPO", year=2024)
        s2.cite(child, root, influential=i % 5 == 0, context=f"We extend DPO in way {i}.")
        for j in range(FANOUT[1]):
            grandchild = s2.add_paper(f"2402.{i * 100 + j:05d}", f"Follow-up {j} of follow-up {i}", year=2025)
            s2.cite(grandchild, child, influential=j % 7 == 0, context=f"Building on follow-up {i}.")


def bench_crawl(s2: FakeSemanticScholar, config: ToolsConfig, workspace: Path) -> dict:
    seed_graph(s2)
    tool = make_paper_tools(config)[0]
    c = ctx(workspace)

    async def crawl() -> list[str]:
        args = {"operation": "citation_graph", "arxiv_id": ROOT_PAPER, "direction": "citations", "limit": 10}
        first = (await tool.run(tool.validate(args), c)).content
        children = re.findall(r"arxiv_id: (\d{4}\.\d{5})", first)
        rest = await asyncio.gather(*(tool.run(tool.validate({**args, "arxiv_id": child}), c) for child in children))
        return [first, *(r.content for r in rest)]

    before = len(s2.requests)
    started = time.perf_counter()
    results = asyncio.run(crawl())
    chars = sum(len(r) for r in results)
    return {"depth": 2, "calls": len(results), "s2_requests": len(s2.requests) - before,
            "wall_s": round(time.perf_counter() - started, 3), "chars_returned": chars, "tokens_returned": chars // 4,
            "papers_listed": sum(r.count(" | arxiv_id: ") for r in results)}


def research_script() -> list:
    def call(name: str, args: dict, call_id: str) -> dict:
        return {"tool_calls": [{"id": call_id, "name": name, "arguments": args}]}

    answer = ("## Recipe table\n| # | Paper | Dataset(s) | Base model | Method and hyperparameters | Hardware | "
              "Reported result |\n|---|---|---|---|---|---|---|\n"
              + "".join(f"| {i} | Follow-up {i} (2401.{i:05d}, 2024) | org/prefs | Llama-3-8B | DPO, lr 5e-7, beta 0.1, "
                        f"3 epochs, batch 64 | 8x A100 | +{i}.0 on MT-Bench |\n" for i in range(5))
              + "\n## On the Hub\n- org/prefs: verified yes (prompt, chosen, rejected)\n\n## Recommendation\nStart with "
              "recipe 0.\n\n## Open questions\nHardware for recipe 3 not reported.\n\n## Sources\n2401.00000 §4")
    steps = [call("research", {"task": "best DPO recipe for an 8B model", "context": "one A100"}, "r1"),
             call("hf_papers", {"operation": "search", "query": "preference", "sort_by": "citationCount"}, "c1"),
             call("hf_papers", {"operation": "citation_graph", "arxiv_id": ROOT_PAPER, "direction": "citations"},
                  "c2")]
    steps += [call("hf_papers", {"operation": "citation_graph", "arxiv_id": f"2401.{i:05d}",
                                 "direction": "citations"}, f"g{i}") for i in range(0, 15, 5)]
    steps += [call("hf_papers", {"operation": "read_paper", "arxiv_id": ROOT_PAPER}, "t1"),
              call("hf_papers", {"operation": "read_paper", "arxiv_id": ROOT_PAPER, "section": "4"}, "t2"),
              call("hf_papers", {"operation": "find_all_resources", "arxiv_id": ROOT_PAPER}, "f1"),
              call("hf_inspect_dataset", {"dataset": "org/prefs"}, "d1"),
              call("explore_hf_docs", {"endpoint": "trl", "query": "DPOConfig beta"}, "e1"),
              answer, "Done: recipe 0."]
    return steps


def bench_research(hub: FakeHub, config: ToolsConfig, home: Path) -> dict:
    hub.add_paper(ROOT_PAPER, "Direct Preference Optimization", "DPO trains from preferences.",
                  sections={"1 Introduction": "RLHF is complex. " * 40, "4 Method": "The DPO loss. " * 200})
    hub.add_dataset("org/prefs", features={"prompt": "string", "chosen": "string", "rejected": "string"},
                    splits={"train": [{"prompt": "2+2?", "chosen": "4", "rejected": "5"}] * 5})
    session = Session(SessionConfig(model="scripted", approve_mode="auto"), default_tools(config),
                      model=ScriptedModel(research_script()), home=home)
    asyncio.run(session.run_turn("research DPO"))
    result = next(e for e in session.events if isinstance(e, ev.ToolResult) and e.call_id == "r1")
    child_log = home / "sessions" / f"{session.id}-research-r1" / "events.jsonl"
    child = [json.loads(line) for line in child_log.read_text().splitlines()]
    read = sum(len(e["content"]) for e in child if e["kind"] == "tool_result")
    kinds = Counter(e.kind for e in session.events)
    return {"answer_chars": len(result.content), "answer_tokens": len(result.content) // 4,
            "tool_output_read_chars": read, "tool_output_read_tokens": read // 4,
            "child_tool_calls": sum(1 for e in child if e["kind"] == "tool_call"),
            "parent_tool_cards": kinds["tool_call"], "progress_events": kinds["subagent_progress"],
            "has_recipe_table": "## Recipe table" in result.content}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mlintern_bench_research_") as tmp:
        home = Path(tmp)
        os.environ["MLINTERN_HOME"] = str(home)
        with FakeHub() as hub, FakeSemanticScholar() as s2:
            config = ToolsConfig(hf_endpoint=hub.url, hf_token=hub.token, datasets_server_url=hub.url,
                                 arxiv_html_url=hub.url + "/arxiv/html", s2_api_url=s2.url, s2_api_key=None,
                                 home=home)
            figures = {"bench": "research", "docs": bench_docs(hub, config, home / "ws"),
                       "crawl": bench_crawl(s2, config, home / "ws")}
            figures["research"] = bench_research(hub, config, home)
    for name in ("docs", "crawl", "research"):
        print(f"{name}: " + " | ".join(f"{k}={v}" for k, v in figures[name].items()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
