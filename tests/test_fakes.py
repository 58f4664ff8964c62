"""The loopback fakes, driven through the real clients (huggingface_hub.HfApi, httpx)."""

# ruff: noqa: F811  (fixtures imported from tests.fakes.fixtures are used as parameters)

from __future__ import annotations

import base64
import json
import re
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.fakes import DEFAULT_TOKEN, FakeHub
from tests.fakes.fixtures import fake_github, fake_hub, fake_hub_env, fake_s2, fake_search, fake_slack  # noqa: F401


@pytest.fixture
def api(fake_hub) -> HfApi:
    return HfApi(endpoint=fake_hub.url, token=fake_hub.token)


# --- server basics ------------------------------------------------------------------------------------------
def test_server_lifecycle_and_request_log():
    with FakeHub() as hub:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", hub.url)
        r = httpx.get(hub.url + "/api/whoami-v2", headers={"Authorization": f"Bearer {hub.token}"})
        assert r.status_code == 200 and r.json()["name"] == "fake-user"
        (rec,) = hub.requests.find("GET", "/api/whoami-v2")
        assert rec.route == "whoami" and rec.status == 200 and rec.authorization == f"Bearer {hub.token}"
        url = hub.url
    with pytest.raises(httpx.HTTPError):
        httpx.get(url + "/api/whoami-v2", timeout=1)


def test_whoami_and_invalid_token(api, fake_hub):
    me = api.whoami()
    assert me["name"] == "fake-user" and [o["name"] for o in me["orgs"]] == ["fake-org"]
    with pytest.raises(HfHubHTTPError) as e:
        HfApi(endpoint=fake_hub.url, token="hf_unknown").whoami()
    assert e.value.response.status_code == 401


# --- jobs -------------------------------------------------------------------------------------------------------
def test_run_job_records_spec_and_streams_logs(api, fake_hub):
    fake_hub.next_job(["step 1", "step 2", "loss=0.1"])
    job = api.run_job(
        image="python:3.12",
        command=["python", "train.py"],
        flavor="a10g-small",
        timeout="2h",
        env={"EPOCHS": "1"},
        secrets={"HF_TOKEN": fake_hub.token},
        labels={"mlintern-call": "c1"},
    )
    assert job.status.stage in ("RUNNING", "SCHEDULING") and job.owner.name == "fake-user"
    spec = fake_hub.last_job.spec
    assert spec["dockerImage"] == "python:3.12" and spec["flavor"] == "a10g-small"
    assert spec["timeoutSeconds"] == 7200 and spec["labels"]["mlintern-call"] == "c1"
    assert spec["secrets"] == {"HF_TOKEN": fake_hub.token}
    assert fake_hub.token not in json.dumps(spec["command"]) and fake_hub.token not in json.dumps(spec["environment"])
    assert job.secrets == {"HF_TOKEN": None}  # values never echoed
    (create,) = fake_hub.requests.find("POST", "/api/jobs/fake-user")
    assert create.authorization == f"Bearer {fake_hub.token}"
    logs = list(api.fetch_job_logs(job_id=job.id, follow=True))
    assert logs == ["step 1", "step 2", "loss=0.1"]
    assert api.inspect_job(job_id=job.id).status.stage == "COMPLETED"


def test_run_uv_job_and_namespace(api, fake_hub):
    job = api.run_uv_job(
        "https://example.com/train.py",
        script_args=["--epochs", "1"],
        dependencies=["trl"],
        flavor="t4-small",
        timeout=600,
        namespace="fake-org",
    )
    assert job.owner.name == "fake-org" and job.owner.type == "org"
    spec = fake_hub.last_job.spec
    assert spec["command"][:4] == ["uv", "run", "--with", "trl"] and spec["timeoutSeconds"] == 600
    assert not fake_hub.requests.find(path="/api/whoami-v2")  # namespace given: no whoami call
    with pytest.raises(HfHubHTTPError) as e:
        api.run_job(image="ubuntu", command=["true"], namespace="someone-else")
    assert e.value.response.status_code == 403


def test_logs_survive_dropped_connection(api, fake_hub):
    lines = [f"line {i}" for i in range(8)]
    # hold=True: the job is still RUNNING when the stream drops. (huggingface_hub 2.4 stops following, and loses
    # the rest of the log, if the job already reached a terminal stage when the connection drops.)
    fake_hub.next_job(lines, drop_after=4, line_delay=0.01, hold=True)
    job = api.run_job(image="ubuntu", command=["bash", "-c", "..."], namespace="fake-user")
    threading.Timer(2.0, fake_hub.finish_job, args=(job.id,)).start()
    got = list(api.fetch_job_logs(job_id=job.id, namespace="fake-user", follow=True))
    assert got == lines
    assert len(fake_hub.requests.find("GET", f"/api/jobs/fake-user/{job.id}/logs")) >= 2


def test_logs_no_follow_and_tail(api, fake_hub):
    fake_hub.next_job([f"l{i}" for i in range(5)], line_delay=0.0)
    job = api.run_job(image="ubuntu", command=["true"], namespace="fake-user")
    # Wait on the job's end, not on a fixed sleep: a loaded CI machine may not have written the lines in 0.1 s.
    api.wait_for_job(job.id, namespace="fake-user", poll_interval=0.05, timeout=30)
    assert list(api.fetch_job_logs(job_id=job.id, namespace="fake-user")) == [f"l{i}" for i in range(5)]
    assert list(api.fetch_job_logs(job_id=job.id, namespace="fake-user", tail=2)) == ["l3", "l4"]


def test_job_error_hold_cancel_and_list(api, fake_hub):
    fake_hub.next_job(["Traceback ...", "ValueError: boom"], final_stage="ERROR", message="exit code 1")
    bad = api.run_job(image="ubuntu", command=["false"], namespace="fake-user")
    fake_hub.next_job(["running..."], hold=True)
    held = api.run_job(image="ubuntu", command=["sleep", "1000"], namespace="fake-user", labels={"k": "v"})
    final = api.wait_for_job(bad.id, namespace="fake-user", poll_interval=0.05, timeout=5)
    assert final.status.stage == "ERROR" and final.status.message == "exit code 1"
    time.sleep(0.1)
    assert api.inspect_job(job_id=held.id, namespace="fake-user").status.stage == "RUNNING"
    running = list(api.list_jobs(namespace="fake-user", status="RUNNING"))
    assert [j.id for j in running] == [held.id]
    assert [j.id for j in api.list_jobs(namespace="fake-user", labels={"k": "v"})] == [held.id]
    api.cancel_job(job_id=held.id, namespace="fake-user")
    assert api.inspect_job(job_id=held.id, namespace="fake-user").status.stage == "CANCELED"
    fake_hub.next_job(["a"], hold=True)
    j3 = api.run_job(image="ubuntu", command=["x"], namespace="fake-user")
    threading.Timer(0.3, fake_hub.finish_job, args=(j3.id,)).start()
    assert list(api.fetch_job_logs(job_id=j3.id, namespace="fake-user", follow=True)) == ["a"]


def test_hardware_list(api):
    hw = {h.name: h for h in api.list_jobs_hardware()}
    for name in ["cpu-basic", "cpu-upgrade", "t4-small", "t4-medium", "a10g-small", "a10g-large", "a100-large", "h100"]:
        assert name in hw
    assert hw["cpu-basic"].accelerator is None and hw["a10g-small"].accelerator.model == "A10G"
    assert hw["a10g-small"].unit_label == "minute"
    assert abs(hw["a10g-small"].unit_cost_usd * 60 - 1.0) < 0.01
    assert hw["a100-large"].unit_cost_micro_usd == round(2.5e6 / 60)


def test_failure_injection_billing_and_rate_limit(api, fake_hub):
    fake_hub.fail("jobs.create", 402)
    with pytest.raises(HfHubHTTPError) as e:
        api.run_job(image="ubuntu", command=["true"], namespace="fake-user", flavor="a100-large")
    assert e.value.response.status_code == 402 and "credit" in str(e.value)
    assert e.value.response.json()["error"].startswith("Payment required")
    fake_hub.clear_failures()
    fake_hub.fail("* /api/whoami-v2", 429, times=1, retry_after=7)
    with pytest.raises(HfHubHTTPError) as e:
        api.whoami()
    assert e.value.response.status_code == 429 and e.value.response.headers["Retry-After"] == "7"
    assert api.whoami()["name"] == "fake-user"  # times=1: next call succeeds
    fake_hub.fail("jobs.inspect", 503, times=1)
    with pytest.raises(HfHubHTTPError) as e:
        api.inspect_job(job_id="x", namespace="fake-user")
    assert e.value.response.status_code == 503
    with pytest.raises(HfHubHTTPError) as e:
        api.inspect_job(job_id="nope", namespace="fake-user")
    assert e.value.response.status_code == 404


def test_scheduled_jobs(api, fake_hub):
    sj = api.create_scheduled_job(
        image="python:3.12",
        command=["python", "-c", "1"],
        schedule="@hourly",
        flavor="cpu-basic",
        namespace="fake-user",
    )
    assert sj.schedule == "@hourly" and sj.job_spec.docker_image == "python:3.12"
    assert [s.id for s in api.list_scheduled_jobs(namespace="fake-user")] == [sj.id]
    api.suspend_scheduled_job(scheduled_job_id=sj.id, namespace="fake-user")
    assert api.inspect_scheduled_job(scheduled_job_id=sj.id, namespace="fake-user").suspend is True
    api.resume_scheduled_job(scheduled_job_id=sj.id, namespace="fake-user")
    assert api.inspect_scheduled_job(scheduled_job_id=sj.id, namespace="fake-user").suspend is False
    api.delete_scheduled_job(scheduled_job_id=sj.id, namespace="fake-user")
    assert api.list_scheduled_jobs(namespace="fake-user") == []
    body = fake_hub.requests.find("POST", "/api/scheduled-jobs/fake-user")[0].json()
    assert body["schedule"] == "@hourly" and body["jobSpec"]["command"] == ["python", "-c", "1"]


# --- repos ------------------------------------------------------------------------------------------------------
def test_repo_create_upload_download(api, fake_hub, tmp_path):
    url = api.create_repo("fake-user/traces", repo_type="dataset", private=True)
    assert url.repo_id == "fake-user/traces"
    assert fake_hub.requests.find("POST", "/api/repos/create")[0].json()["visibility"] == "private"
    assert api.repo_info("fake-user/traces", repo_type="dataset").private is True
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=fake_hub.url, token=False).repo_info("fake-user/traces", repo_type="dataset")
    info = api.upload_file(
        path_or_fileobj=b'{"a": 1}\n',
        path_in_repo="sessions/s1/trace.jsonl",
        repo_id="fake-user/traces",
        repo_type="dataset",
        commit_message="add trace",
    )
    assert info.oid and fake_hub.repo("fake-user/traces", "dataset").read("sessions/s1/trace.jsonl") == b'{"a": 1}\n'
    files = api.list_repo_files("fake-user/traces", repo_type="dataset")
    assert sorted(files) == [".gitattributes", "sessions/s1/trace.jsonl"]
    tree = [e.path for e in api.list_repo_tree("fake-user/traces", repo_type="dataset")]
    assert tree == [".gitattributes", "sessions"]
    path = api.hf_hub_download("fake-user/traces", "sessions/s1/trace.jsonl", repo_type="dataset", cache_dir=tmp_path)
    assert Path(path).read_bytes() == b'{"a": 1}\n'
    api.update_repo_settings("fake-user/traces", repo_type="dataset", private=False)
    assert api.repo_info("fake-user/traces", repo_type="dataset").private is False
    assert fake_hub.requests.find("PUT", "/api/datasets/fake-user/traces/settings")[0].json() == {
        "visibility": "public"
    }
    api.create_commit(
        "fake-user/traces",
        repo_type="dataset",
        commit_message="rm",
        operations=[__import__("huggingface_hub").CommitOperationDelete("sessions/s1/trace.jsonl")],
    )
    assert api.list_repo_files("fake-user/traces", repo_type="dataset") == [".gitattributes"]
    api.delete_repo("fake-user/traces", repo_type="dataset")
    assert ("dataset", "fake-user/traces") not in fake_hub.repos


def test_model_repo_download_and_readme(api, fake_hub, tmp_path):
    api.create_repo("fake-user/model")
    api.upload_file(
        path_or_fileobj=b"---\nlicense: mit\n---\n# m\n", path_in_repo="README.md", repo_id="fake-user/model"
    )
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id="fake-user/model")
    p = api.hf_hub_download("fake-user/model", "config.json", cache_dir=tmp_path)
    assert Path(p).read_bytes() == b"{}"
    head = httpx.head(f"{fake_hub.url}/fake-user/model/resolve/main/config.json")
    assert head.headers["etag"] and head.headers["x-repo-commit"] and head.headers["content-length"] == "2"
    from huggingface_hub.errors import EntryNotFoundError

    with pytest.raises(EntryNotFoundError):
        api.hf_hub_download("fake-user/model", "missing.bin", cache_dir=tmp_path)
    with pytest.raises(HfHubHTTPError) as e:
        api.create_repo("fake-user/model")
    assert e.value.response.status_code == 409
    api.create_repo("fake-user/model", exist_ok=True)


def test_refs_and_discussions(api, fake_hub):
    api.create_repo("fake-user/r")
    api.create_branch("fake-user/r", branch="exp")
    api.create_tag("fake-user/r", tag="v1", revision="exp")
    refs = api.list_repo_refs("fake-user/r")
    assert {b.name for b in refs.branches} == {"main", "exp"} and [t.name for t in refs.tags] == ["v1"]
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="fake-user/r", revision="exp")
    assert "x.txt" in api.list_repo_files("fake-user/r", revision="exp")
    assert "x.txt" not in api.list_repo_files("fake-user/r")
    api.delete_branch("fake-user/r", branch="exp")
    with pytest.raises(HfHubHTTPError):
        api.create_branch("fake-user/r", branch="main")
    d = api.create_discussion("fake-user/r", title="Question", description="hi")
    pr = api.create_pull_request("fake-user/r", title="Add model", description="PR body")
    assert d.num == 1 and not d.is_pull_request and pr.num == 2 and pr.is_pull_request
    assert [x.title for x in api.get_repo_discussions("fake-user/r")] == ["Question", "Add model"]
    ci = api.upload_file(path_or_fileobj=b"y", path_in_repo="y.txt", repo_id="fake-user/r", create_pr=True)
    assert ci.pr_num == 3 and "y.txt" in api.list_repo_files("fake-user/r", revision="refs/pr/3")


def test_space_sandbox(api, fake_hub):
    api.create_repo("fake-user/sandbox", repo_type="space", space_sdk="docker", space_hardware="t4-small", private=True)
    body = fake_hub.requests.find("POST", "/api/repos/create")[0].json()
    assert body["sdk"] == "docker" and body["hardware"] == "t4-small" and body["type"] == "space"
    rt = api.get_space_runtime("fake-user/sandbox")
    assert rt.stage == "RUNNING" and rt.hardware == "t4-small"
    rt = api.request_space_hardware("fake-user/sandbox", "a10g-small")
    assert rt.requested_hardware == "a10g-small"
    api.add_space_secret("fake-user/sandbox", "HF_TOKEN", DEFAULT_TOKEN)
    assert fake_hub.repo("fake-user/sandbox", "space").space["secrets"]["HF_TOKEN"] == DEFAULT_TOKEN
    assert api.space_info("fake-user/sandbox").sdk == "docker"


# --- content ------------------------------------------------------------------------------------------------------
def test_papers(api, fake_hub):
    fake_hub.add_paper(
        "2106.09685",
        "LoRA: Low-Rank Adaptation of Large Language Models",
        "We propose LoRA, low-rank adaptation.",
        authors=["Edward Hu"],
        upvotes=42,
        sections={"1 Introduction": "Fine-tuning is costly.", "4 Method": "Low-rank updates."},
    )
    fake_hub.add_repo("someone/lora-model", tags=["arxiv:2106.09685", "peft"], downloads=10)
    fake_hub.add_repo("someone/lora-data", repo_type="dataset", tags=["arxiv:2106.09685"])
    hits = list(api.list_papers(query="low-rank"))
    assert [p.id for p in hits] == ["2106.09685"] and hits[0].authors[0].name == "Edward Hu"
    info = api.paper_info("2106.09685")
    assert info.title.startswith("LoRA") and info.upvotes == 42
    assert [p.id for p in api.list_daily_papers()] == ["2106.09685"]
    assert "## 4 Method" in api.read_paper("2106.09685")
    assert [m.id for m in api.list_models(filter="arxiv:2106.09685")] == ["someone/lora-model"]
    assert [d.id for d in api.list_datasets(filter="arxiv:2106.09685")] == ["someone/lora-data"]
    html = httpx.get(f"{fake_hub.url}/arxiv/html/2106.09685v2").text
    # LaTeXML's layout: the number in an ltx_tag span, the title after it; the bibliography is not a section
    assert re.findall(r'<section id="S\d+" class="ltx_section"><h2[^>]*><span class="ltx_tag[^"]*">([^<]+)</span>'
                      r"([^<]+)</h2>", html) == [("1 ", "Introduction"), ("4 ", "Method")]
    fake_hub.add_collection("someone/lora-123", "LoRA things", items=["papers/2106.09685"], upvotes=3)
    (collection,) = api.list_collections(item="papers/2106.09685")
    assert collection.title == "LoRA things" and collection.items[0].item_id == "2106.09685"
    assert not list(api.list_collections(item="papers/0000.00000"))


def test_dataset_viewer(fake_hub):
    fake_hub.add_dataset(
        "stanfordnlp/imdb",
        features={"text": "string", "label": {"names": ["neg", "pos"], "_type": "ClassLabel"}},
        splits={"train": [{"text": "great", "label": 1}] * 150, "test": [{"text": "bad", "label": 0}]},
        config="plain_text",
    )
    c = httpx.Client(base_url=fake_hub.url)
    assert c.get("/is-valid", params={"dataset": "stanfordnlp/imdb"}).json()["viewer"] is True
    splits = c.get("/splits", params={"dataset": "stanfordnlp/imdb"}).json()["splits"]
    assert [(s["config"], s["split"]) for s in splits] == [("plain_text", "train"), ("plain_text", "test")]
    fr = c.get("/first-rows", params={"dataset": "stanfordnlp/imdb", "config": "plain_text", "split": "train"}).json()
    assert len(fr["rows"]) == 100 and fr["features"][1]["type"]["_type"] == "ClassLabel"
    assert fr["rows"][0] == {"row_idx": 0, "row": {"text": "great", "label": 1}, "truncated_cells": []}
    info = c.get("/info", params={"dataset": "stanfordnlp/imdb"}).json()["dataset_info"]["plain_text"]
    assert info["splits"]["train"]["num_examples"] == 150 and info["features"]["text"]["dtype"] == "string"
    r = c.get("/splits", params={"dataset": "nobody/nothing"})
    assert r.status_code == 404 and "does not exist" in r.json()["error"]
    fake_hub.add_wide_dataset("fake-user/wide", n_columns=5000, n_rows=2)
    fr = c.get("/first-rows", params={"dataset": "fake-user/wide", "config": "default", "split": "train"}).json()
    assert len(fr["features"]) == 5000 and len(fr["rows"][0]["row"]) == 5000
    assert HfApi(endpoint=fake_hub.url).dataset_info("stanfordnlp/imdb").id == "stanfordnlp/imdb"


def test_docs(fake_hub):
    fake_hub.add_doc("peft", "lora", "LoRA", "<p>LoRA adapters with <code>LoraConfig</code>.</p>")
    page = httpx.get(f"{fake_hub.url}/docs/transformers/main_classes/trainer").text
    assert '<nav class="flex-auto' in page and 'href="/docs/transformers/training"' in page and "<h1>Trainer</h1>" in page
    index = httpx.get(f"{fake_hub.url}/api/docs").json()
    assert {"id": "peft", "url": "/docs/peft", "category": "Libraries"} in index
    spec = httpx.get(f"{fake_hub.url}/.well-known/openapi.json").json()
    assert spec["openapi"] == "3.1.0" and spec["servers"][0]["url"] == "https://huggingface.co"
    assert "/api/spaces/{namespace}/{repo}/logs/{logType}" in spec["paths"]
    markdown = httpx.get(f"{fake_hub.url}/docs/peft/lora.md")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# LoRA") and "LoraConfig" in markdown.text and "<code>" not in markdown.text
    assert httpx.get(f"{fake_hub.url}/docs/nope/x").status_code == 404


# --- Semantic Scholar ---------------------------------------------------------------------------------------------
def test_semantic_scholar(fake_s2):
    root = fake_s2.add_paper("2305.18290", "Direct Preference Optimization", citations=4000)
    follow = fake_s2.add_paper("2405.14734", "SimPO", citations=500)
    fake_s2.cite(follow, root, influential=True, context="builds on DPO")
    s2 = httpx.Client(base_url=fake_s2.url)
    paper = s2.get("/graph/v1/paper/ARXIV:2305.18290", params={"fields": "title,citationCount"}).json()
    assert paper == {"paperId": root["paperId"], "title": "Direct Preference Optimization", "citationCount": 4000}
    edges = s2.get("/graph/v1/paper/ARXIV:2305.18290/citations",
                   params={"fields": "contexts,isInfluential,title,externalIds"}).json()
    (edge,) = edges["data"]
    assert edge["isInfluential"] and edge["contexts"] == ["builds on DPO"]
    assert edge["citingPaper"]["externalIds"]["ArXiv"] == "2405.14734" and edges["offset"] == 0
    bad = s2.get("/graph/v1/paper/ARXIV:2305.18290", params={"fields": "title,bogus"})
    assert bad.status_code == 400 and bad.json() == {"error": "Unrecognized or unsupported fields: [bogus]"}
    missing = s2.get("/graph/v1/paper/ARXIV:0000.00000")
    assert missing.status_code == 404 and "not found" in missing.json()["error"]
    assert s2.get("/graph/v1/paper/search", params={"query": "x", "limit": 101}).status_code == 400
    fake_s2.fail("*", 429, times=1)
    limited = s2.get("/graph/v1/paper/ARXIV:2305.18290")
    assert limited.status_code == 429 and limited.json()["code"] == "429"
    recs = s2.post("/recommendations/v1/papers/", json={"positivePaperIds": ["ARXIV:2405.14734"]}).json()
    assert [p["paperId"] for p in recs["recommendedPapers"]] == [root["paperId"]]


# --- GitHub -------------------------------------------------------------------------------------------------------
def test_github(fake_github):
    gh = httpx.Client(base_url=fake_github.url, headers={"Authorization": "Bearer ghp_fake"})
    r = gh.get("/search/code", params={"q": "SFTTrainer repo:huggingface/trl language:python"})
    assert [i["path"] for i in r.json()["items"]] == ["examples/scripts/sft.py"]
    assert httpx.get(f"{fake_github.url}/search/code", params={"q": "x"}).status_code == 401
    repos = gh.get("/search/repositories", params={"q": "transformers", "sort": "stars"}).json()["items"]
    assert repos[0]["full_name"] == "huggingface/transformers"
    assert {m["name"] for m in gh.get("/orgs/huggingface/repos").json()} == {"trl", "transformers"}
    assert gh.get("/users/fake-user/repos").json()[0]["full_name"] == "fake-user/scratch"
    assert gh.get("/users/ghost/repos").status_code == 404
    f = gh.get("/repos/huggingface/trl/contents/examples/scripts/sft.py").json()
    assert f["encoding"] == "base64" and b"SFTTrainer" in base64.b64decode(f["content"])
    assert b"SFTTrainer" in httpx.get(f["download_url"]).content
    nb = gh.get(
        "/repos/huggingface/trl/contents/examples/notebooks/sft_example.ipynb",
        headers={"Accept": "application/vnd.github.raw"},
    )
    assert json.loads(nb.content)["nbformat"] == 4
    big = gh.get("/repos/huggingface/trl/contents/large/weights.bin").json()
    assert big["size"] == 50 * 1024 * 1024 and big["encoding"] == "none" and big["content"] == ""
    raw = gh.get("/repos/huggingface/trl/contents/large/weights.bin", headers={"Accept": "application/vnd.github.raw"})
    assert len(raw.content) == 50 * 1024 * 1024
    png = gh.get("/repos/huggingface/trl/contents/assets/logo.png", headers={"Accept": "application/vnd.github.raw"})
    assert png.content.startswith(b"\x89PNG")
    listing = gh.get("/repos/huggingface/trl/contents/examples").json()
    assert {(e["name"], e["type"]) for e in listing} == {("scripts", "dir"), ("notebooks", "dir")}
    fake_github.rate_limit(403)
    r = gh.get("/repos/huggingface/trl")
    assert r.status_code == 403 and r.headers["x-ratelimit-remaining"] == "0" and "rate limit" in r.json()["message"]
    fake_github.rate_limit(429, retry_after=3)
    r = gh.get("/search/code", params={"q": "x"})
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert gh.get("/repos/huggingface/trl").status_code == 200


# --- search / Slack -------------------------------------------------------------------------------------------
def test_search_page(fake_search):
    fake_search.set_results(
        "lora rank",
        [{"title": "LoRA <paper>", "url": "https://arxiv.org/abs/2106.09685", "snippet": "Low-rank adaptation"}],
    )
    page = httpx.get(f"{fake_search.url}/html/", params={"q": "lora rank"}).text
    links = re.findall(r'class="result__a" href="([^"]+)">([^<]*)</a>', page)
    assert len(links) == 1 and links[0][1] == "LoRA &lt;paper&gt;"
    target = parse_qs(urlparse("https:" + links[0][0].replace("&amp;", "&")).query)["uddg"][0]
    assert target == "https://arxiv.org/abs/2106.09685"
    assert 'class="result__snippet"' in page
    other = httpx.post(f"{fake_search.url}/html/", data={"q": "anything"}).text
    assert other.count('class="result__a"') == 3
    fake_search.set_results("nothing", [])
    assert "no-results" in httpx.get(f"{fake_search.url}/html/", params={"q": "nothing"}).text
    fake_search.challenge = True
    assert httpx.get(f"{fake_search.url}/html/", params={"q": "x"}).status_code == 202


def test_slack(fake_slack):
    ok = httpx.post(
        f"{fake_slack.url}/api/chat.postMessage",
        json={"channel": "C0FAKE", "text": "job done"},
        headers={"Authorization": f"Bearer {fake_slack.bot_token}"},
    ).json()
    assert ok["ok"] is True and ok["ts"]
    bad = httpx.post(
        f"{fake_slack.url}/api/chat.postMessage",
        json={"channel": "C0FAKE", "text": "x"},
        headers={"Authorization": "Bearer xoxb-wrong"},
    ).json()
    assert bad == {"ok": False, "error": "invalid_auth"}
    assert httpx.post(fake_slack.webhook_url, json={"text": "hello"}).text == "ok"
    assert httpx.post(f"{fake_slack.url}/services/T/B/X", json={"text": "hello"}).status_code == 404
    assert [m["text"] for m in fake_slack.messages] == ["job done", "hello"]
    fake_slack.fail("slack.post_message", 429, retry_after=1, times=1)
    r = httpx.post(f"{fake_slack.url}/api/chat.postMessage", json={"channel": "C0FAKE", "text": "x"})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"


def test_module_level_functions_need_env(fake_hub_env):
    import huggingface_hub as hh

    assert hh.whoami()["name"] == "fake-user"
    api = hh.HfApi(endpoint=fake_hub_env.url, token=fake_hub_env.token)
    fake_hub_env.next_job(["x"], hold=True)
    job = api.run_job(image="ubuntu", command=["true"])
    # list_jobs() without namespace resolves it through the module-level whoami (constants.ENDPOINT)
    assert [j.id for j in api.list_jobs()] == [job.id]
    api.create_repo("fake-user/m")
    api.upload_file(path_or_fileobj=b"abc", path_in_repo="a.txt", repo_id="fake-user/m")
    assert Path(hh.hf_hub_download("fake-user/m", "a.txt")).read_bytes() == b"abc"


def test_unknown_token_refused_everywhere(fake_hub):
    bad = HfApi(endpoint=fake_hub.url, token="hf_not_a_real_token")
    with pytest.raises(HfHubHTTPError) as e:
        bad.list_jobs_hardware()
    assert e.value.response.status_code == 401
    assert HfApi(endpoint=fake_hub.url, token=False).list_jobs_hardware()  # anonymous is fine there
