"""explore_hf_docs (docs index enum, sidebar, .md pages, BM25 index cached on disk) and find_hf_api (the Hub's
OpenAPI document), on the fake Hub through httpx; bad input comes back as short answers."""

# ruff: noqa: F811

from __future__ import annotations

import json
import time

from mlintern_jupyter.tools.config import ToolsConfig
from mlintern_jupyter.tools.docs import make_docs_tools
from mlintern_jupyter.tools.openapi import make_openapi_tools
from tests.fakes.fixtures import fake_hub  # noqa: F401
from tests.test_tools_support import Collector, outcome, run


def _config(hub, **extra) -> ToolsConfig:
    return ToolsConfig(hf_endpoint=hub.url, hf_token=hub.token, **extra)


def _docs(hub, **extra):
    return make_docs_tools(_config(hub, **extra))[0]


def _network(hub) -> int:
    return len([r for r in hub.requests if r.path.startswith(("/docs", "/api/docs"))])


def test_search_builds_the_index_once_then_answers_from_disk(tmp_path, fake_hub):
    fake_hub.add_docs_library("peft", 45)
    docs = _docs(fake_hub)
    col = Collector(tmp_path / "ws")
    first = run(outcome(docs, col.ctx, endpoint="trl", query="SFTTrainer packing"))
    assert first.splitlines()[1].startswith("- SFT Trainer: ") and "/docs/trl/sft_trainer" in first
    assert "packing=True" in first  # the snippet comes from the page's markdown
    assert fake_hub.requests.find(path="/api/docs") and fake_hub.requests.find(path="/docs/trl/sft_trainer.md")
    fetched = _network(fake_hub)
    # the same library again, another query: no request at all
    again = run(outcome(docs, col.ctx, endpoint="trl", query="preference pairs chosen"))
    assert "DPO Trainer" in again.splitlines()[1] and _network(fake_hub) == fetched
    # a new registry (the next session) reads the index from disk: still no request
    fresh = _docs(fake_hub)
    assert "SFT Trainer" in run(outcome(fresh, col.ctx, endpoint="trl", query="packing"))
    assert _network(fake_hub) == fetched
    # 45 pages, one of them about the term; stemmed ("saving" finds "saves")
    peft = run(outcome(docs, col.ctx, endpoint="peft", query="gradient_checkpointing saving", max_results=3))
    assert "Page 22 of peft" in peft.splitlines()[1] and peft.startswith("1 of 45 pages")
    listing = run(outcome(docs, col.ctx, endpoint="peft", max_results=5))
    assert listing.startswith("45 pages in the peft docs; showing 5") and listing.count("\n- ") == 5
    nothing = run(outcome(docs, col.ctx, endpoint="trl", query="zebra"))
    assert "No page of the trl docs matches 'zebra'" in nothing


def test_the_enum_comes_from_the_sites_index_and_refreshes_after_its_ttl(tmp_path, fake_hub):
    docs = _docs(fake_hub)
    enum = docs.parameters["properties"]["endpoint"]["enum"]
    assert {"transformers", "trl", "hub", "peft"} <= set(enum)  # the seed list before the first fetch
    col = Collector(tmp_path / "ws")
    # "peft" is in the seed but not on this site: a short answer listing what the site has
    missing = run(outcome(docs, col.ctx, endpoint="peft"))
    assert "the docs site has no library 'peft'" in missing and "trl" in missing and len(missing) < 300
    # the next registry shows exactly the site's libraries
    assert make_docs_tools(_config(fake_hub))[0].parameters["properties"]["endpoint"]["enum"] == [
        "datasets", "huggingface_hub", "transformers", "trl"]
    assert docs.validate({"endpoint": "trl"}) and "Input should be" in _invalid(docs, {"endpoint": "nope"})
    # fresh within the TTL: no new index request; after it, one
    run(outcome(docs, col.ctx, endpoint="trl"))
    assert len(fake_hub.requests.find(path="/api/docs")) == 1
    fake_hub.add_doc("trackio", "index", "Trackio", "<p>Track experiments.</p>")
    stale = _docs(fake_hub, docs_index_ttl_s=0)
    run(outcome(stale, col.ctx, endpoint="trl"))
    assert len(fake_hub.requests.find(path="/api/docs")) == 2
    assert "trackio" in make_docs_tools(_config(fake_hub))[0].parameters["properties"]["endpoint"]["enum"]


def _invalid(tool, arguments) -> str:
    try:
        tool.validate(arguments)
    except ValueError as exc:
        return str(exc)
    return ""


def test_pages_without_markdown_malformed_pages_and_a_stale_index(tmp_path, fake_hub):
    fake_hub.add_doc("trl", "grpo_trainer", "GRPO Trainer", "<p>The <code>GRPOTrainer</code> needs reward "
                     "functions.</p><table><tr><th>arg</th></tr><tr><td>num_generations</td></tr></table>")
    fake_hub.docs_md_missing.add(("trl", "grpo_trainer"))  # HTML only: converted
    fake_hub.docs_md_broken.add(("trl", "dpo_trainer"))  # an error page where markdown was expected
    docs = _docs(fake_hub)
    col = Collector(tmp_path / "ws")
    grpo = run(outcome(docs, col.ctx, endpoint="trl", query="num_generations reward"))
    assert "GRPO Trainer" in grpo.splitlines()[1]
    assert fake_hub.requests.find(path="/docs/trl/grpo_trainer")  # the HTML page, after the .md 404
    broken = run(outcome(docs, col.ctx, endpoint="trl", query="Something went wrong"))
    assert "DPO Trainer" in broken and len(broken) < 2_000  # indexed as converted text, nothing crashed
    # a week later the index is rebuilt from the site
    home = ToolsConfig().mlintern_home()
    manifest = next(home.glob("cache/docs/*/trl/pages.json"))
    data = json.loads(manifest.read_text())
    data["built_at"] = time.time() - 8 * 24 * 3600
    manifest.write_text(json.dumps(data))
    before = len(fake_hub.requests.find(path="/docs/trl/sft_trainer.md"))
    run(outcome(_docs(fake_hub), col.ctx, endpoint="trl", query="packing"))
    assert len(fake_hub.requests.find(path="/docs/trl/sft_trainer.md")) == before + 1
    assert not [p for p in manifest.parent.iterdir() if ".building-" in p.name or ".old-" in p.name]


def test_sidebar_links_to_other_hosts_are_never_fetched(tmp_path, fake_hub):
    from tests.fakes import FakeHub

    with FakeHub(seed=False) as other:
        fake_hub.docs_extra_links["trl"] = [f"{other.url}/docs/trl/steal", "/docs/trl/../../api/whoami-v2"]
        docs = _docs(fake_hub)
        listing = run(outcome(docs, Collector(tmp_path / "ws").ctx, endpoint="trl"))
        assert "steal" not in listing and "whoami" not in listing
        assert len(other.requests) == 0 and not fake_hub.requests.find(path="/api/whoami-v2")


def test_docs_site_down_and_a_library_that_went_away(tmp_path, fake_hub):
    col = Collector(tmp_path / "ws")
    fake_hub.fail("docs.index", 503)
    docs = _docs(fake_hub)
    # no index yet and the site is down: the seed list is used, the sidebar fetch then fails with a short answer
    fake_hub.fail("docs.page", 503)
    down = run(outcome(docs, col.ctx, endpoint="trl", query="packing"))
    assert down.startswith("Error: ") and "503" in down and len(down) < 400
    # nothing half-built was cached: once the site is back, the same call works
    fake_hub.clear_failures()
    assert "SFT Trainer" in run(outcome(docs, col.ctx, endpoint="trl", query="packing"))


def test_find_hf_api_searches_the_openapi_document(tmp_path, fake_hub):
    api = make_openapi_tools(_config(fake_hub))[0]
    col = Collector(tmp_path / "ws")

    async def go():
        return [await outcome(api, col.ctx, **args) for args in (
            {"query": "stream space logs"}, {"query": "rename repository"}, {"tag": "orgs"},
            {"query": "members", "tag": "spaces"}, {"tag": "nope"}, {}, {"query": "zzzz"})]

    logs, move, orgs, fallback, bad_tag, nothing, no_match = run(go())
    assert logs.splitlines()[2] == "## GET /api/spaces/{namespace}/{repo}/logs/{logType}"
    assert "logType (\"build\" | \"run\", required)" in logs
    assert ("curl -X GET 'https://huggingface.co/api/spaces/deepseek-ai/DeepSeek-R1/logs/build' "
            "-H \"Authorization: Bearer $HF_TOKEN\"") in logs
    assert fake_hub.token not in logs + move
    assert "## POST /api/repos/move" in move and "- fromRepo (object, required) with name, type" in move
    assert "-d '{\"fromRepo\": \"<fromRepo>\", \"toRepo\": \"<toRepo>\"}'" in move
    assert "## GET /api/organizations/{name}/members" in orgs
    assert "nothing matches 'members' in spaces" in fallback and "/metrics" in fallback
    assert "no tag 'nope'" in bad_tag and "discussions" in bad_tag
    assert "give `query`" in nothing and "No Hub API endpoint matches 'zzzz'" in no_match
    # one fetch of the document; the next registry reads it from disk
    run(outcome(make_openapi_tools(_config(fake_hub))[0], col.ctx, query="collections"))
    assert len(fake_hub.requests.find(route="openapi")) == 1
    fake_hub.openapi = {"openapi": "3.1.0"}  # malformed (no paths), seen only once the cache is stale
    broken = run(outcome(make_openapi_tools(_config(fake_hub, docs_index_ttl_s=0))[0], col.ctx, query="x"))
    assert "has no `paths`" in broken
