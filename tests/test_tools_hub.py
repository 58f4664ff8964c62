"""Hub tools on the fake Hub through the real clients: datasets, papers, docs, repo files and git."""

# ruff: noqa: F811

from __future__ import annotations

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.approval import classify
from mlintern_jupyter.agent.policy import policy
from mlintern_jupyter.tools.config import ToolsConfig, sends_hf_token
from mlintern_jupyter.tools.hub_repos import make_hub_repo_tools
from mlintern_jupyter.tools.hub_research import make_hub_research_tools
from tests.fakes.fixtures import fake_github, fake_hub  # noqa: F401
from tests.test_tools_support import Collector, call, of_kind, outcome, results, run, scripted_session


def _config(hub, token=True) -> ToolsConfig:
    return ToolsConfig(hf_endpoint=hub.url, hf_token=hub.token if token else "", datasets_server_url=hub.url,
                       arxiv_html_url=hub.url + "/arxiv/html")


def _tools(hub, token=True):
    config = _config(hub, token)
    return {t.name: t for t in [*make_hub_research_tools(config), *make_hub_repo_tools(config)]}


def test_inspect_dataset_formats_and_wide_dataset(tmp_path, fake_hub):
    fake_hub.add_dataset("org/prefs", features={"prompt": "string", "chosen": "string", "rejected": "string"},
                         splits={"train": [{"prompt": "2+2?", "chosen": "4", "rejected": "5"}] * 5, "test": []})
    fake_hub.add_dataset("org/chat", features={"messages": [{"role": "string", "content": "string"}]},
                         splits={"train": [{"messages": [{"role": "user", "content": "hi"}]}]})
    fake_hub.add_wide_dataset("org/wide", n_columns=5000, n_rows=3)
    tools = _tools(fake_hub)
    col = Collector(tmp_path / "ws")

    async def go():
        return [await outcome(tools["hf_inspect_dataset"], col.ctx, dataset=name)
                for name in ("org/prefs", "org/chat", "org/wide", "org/missing")]

    prefs, chat, wide, missing = run(go())
    assert "Splits of default: train, test; showing train" in prefs
    assert "DPO (preference: prompt, chosen, rejected)" in prefs and "GRPO" in prefs and "Row 0: prompt=2+2?" in prefs
    assert "SFT (conversational" in chat and "DPO" not in chat
    assert "Features (5000 columns)" in wide and "4960 more columns" in wide and "float32 x5000" in wide
    assert len(wide) < 8_000 and "none of SFT / DPO / GRPO" in wide
    assert "404" in missing and "check the name" in missing and len(missing) < 300


def test_docs_fetch_as_markdown_and_token_only_to_hf_hosts(tmp_path, fake_hub, fake_github):
    tools = _tools(fake_hub)
    col = Collector(tmp_path / "ws")

    async def go():
        page = await outcome(tools["fetch_hf_docs"], col.ctx, url="trl/sft_trainer")
        table = await outcome(tools["fetch_hf_docs"], col.ctx, url="transformers/training")
        elsewhere = await outcome(tools["fetch_hf_docs"], col.ctx, url=fake_github.url + "/repos/huggingface/trl")
        return page, table, elsewhere

    page, table, elsewhere = run(go())
    # pages come as markdown (markdownify): links keep their targets, tables stay tables, the chrome is gone
    assert "[the DPO trainer](/docs/trl/dpo_trainer)" in page and "Terms" not in page and "Pricing" not in page
    assert "| model | accuracy |" in table and "| distilbert | 0.93 |" in table
    assert "# SFT Trainer" in page and "`SFTTrainer`" in page and "window.hydrate" not in page
    # A loopback address the person did not configure is refused (server-side request forgery).
    assert "loopback, private, link-local or metadata address" in elsewhere and not fake_github.requests
    hub_requests = fake_hub.requests.find(path="/docs/trl/sft_trainer")
    assert hub_requests[0].authorization == f"Bearer {fake_hub.token}"
    assert sends_hf_token("https://huggingface.co/docs/trl") and sends_hf_token("https://hf.co/api/whoami-v2")
    assert sends_hf_token("https://datasets-server.huggingface.co/x")
    assert not sends_hf_token("https://huggingface.co.evil.com/") and not sends_hf_token("http://huggingface.co/")
    # By exact destination, never by suffix: anyone can host a Space.
    assert not sends_hf_token("https://attacker.hf.space/docs/x") and not sends_hf_token("https://hf.space/api/x")
    assert not sends_hf_token("https://evil.huggingface.co/api/x") and not sends_hf_token("https://huggingface.co/u/r")


def test_repo_files_through_the_gate(tmp_path, fake_hub):
    # Private: a write into a public repo is never approved by policy (test_security_hub.py).
    fake_hub.add_repo("fake-user/model", private=True, files={"README.md": "# hi\n", "weights.bin": b"\x00" * 100,
                                                              "big.txt": "y" * (3 << 20)})
    tools = _tools(fake_hub)
    (tmp_path / "sessions").mkdir()
    script = [
        {"tool_calls": [
            {"id": "l", "name": "hf_repo_files", "arguments": {"operation": "list", "repo_id": "fake-user/model"}},
            {"id": "r", "name": "hf_repo_files", "arguments": {"operation": "read", "repo_id": "fake-user/model",
                                                               "path": "README.md"}},
            {"id": "b", "name": "hf_repo_files", "arguments": {"operation": "read", "repo_id": "fake-user/model",
                                                               "path": "weights.bin"}},
            {"id": "g", "name": "hf_repo_files", "arguments": {"operation": "read", "repo_id": "fake-user/model",
                                                               "path": "big.txt"}},
            {"id": "u", "name": "hf_repo_files", "arguments": {"operation": "upload", "repo_id": "fake-user/model",
                                                               "path": "train.py", "content": "print(1)\n"}},
            {"id": "d", "name": "hf_repo_files", "arguments": {"operation": "delete", "repo_id": "fake-user/model",
                                                               "path": "README.md"}},
        ]},
        "done",
    ]
    session = scripted_session(tmp_path, list(tools.values()), script, approve="auto", budget=1.0)
    run(session.run_turn("look at my repo"))
    by_id = {r.call_id: r for r in results(session)}
    assert "README.md" in by_id["l"].content and "weights.bin (100 bytes)" in by_id["l"].content
    assert by_id["r"].content.endswith("# hi\n") and "binary file" in by_id["b"].content
    assert "first 1048576 of 3145728 bytes" in by_id["g"].content and len(by_id["g"].content) < 30_000
    assert by_id["u"].ok and fake_hub.repo("fake-user/model").read("train.py") == b"print(1)\n"
    # deletion is never approved by `auto`: a person decides
    assert not by_id["d"].ok and "auto mode does not cover" in by_id["d"].content
    assert "README.md" in fake_hub.repo("fake-user/model").files()
    asked = {e.call_id for e in of_kind(session, ev.ApprovalRequested)}
    assert asked == {"u", "d"}


def test_pull_request_lifecycle_and_spaces(tmp_path, fake_hub):
    fake_hub.add_repo("fake-user/model", files={"README.md": "# v1\n"})
    tools = _tools(fake_hub)
    col = Collector(tmp_path / "ws")
    git, files = tools["hf_repo_git"], tools["hf_repo_files"]
    repo = {"repo_id": "fake-user/model"}

    async def go():
        out = {"pr": await outcome(git, col.ctx, operation="create_pr", title="Better card", description="v2", **repo)}
        await outcome(files, col.ctx, operation="upload", path="README.md", content="# v2\n", revision="refs/pr/1",
                      **repo)
        out["draft_merge"] = await outcome(git, col.ctx, operation="merge_pr", pr_num=1, **repo)
        out["publish"] = await outcome(git, col.ctx, operation="change_pr_status", pr_num=1, new_status="open", **repo)
        out["comment"] = await outcome(git, col.ctx, operation="comment_pr", pr_num=1, comment="LGTM", **repo)
        out["get"] = await outcome(git, col.ctx, operation="get_pr", pr_num=1, **repo)
        out["merge"] = await outcome(git, col.ctx, operation="merge_pr", pr_num=1, comment="thanks", **repo)
        out["second"] = await outcome(git, col.ctx, operation="create_pr", title="Drop it", **repo)
        out["close"] = await outcome(git, col.ctx, operation="close_pr", pr_num=2, **repo)
        out["closed"] = await outcome(git, col.ctx, operation="list_prs", status="closed", **repo)
        out["no_num"] = await outcome(git, col.ctx, operation="get_pr", **repo)
        out["no_comment"] = await outcome(git, col.ctx, operation="comment_pr", pr_num=1, **repo)
        out["space"] = await outcome(git, col.ctx, operation="create_repo", repo_id="fake-user/demo",
                                     repo_type="space", space_sdk="gradio")
        out["no_sdk"] = await outcome(git, col.ctx, operation="create_repo", repo_id="fake-user/demo2",
                                      repo_type="space")
        out["update"] = await outcome(git, col.ctx, operation="update_repo", gated="false", **repo)
        return out

    out = run(go())
    assert "Opened draft PR #1" in out["pr"] and 'revision="refs/pr/1"' in out["pr"]
    assert "400" in out["draft_merge"] and "draft" in out["draft_merge"]
    assert "#1 on fake-user/model is now open" in out["publish"] and "Commented on #1" in out["comment"]
    assert "PR #1: Better card" in out["get"] and "status: open; author: fake-user" in out["get"]
    assert "target: refs/heads/main" in out["get"] and "- comment by fake-user: LGTM" in out["get"]
    assert "Merged PR #1" in out["merge"] and fake_hub.repo("fake-user/model").read("README.md") == b"# v2\n"
    assert "#2 on fake-user/model is now closed" in out["close"] and "#2 [closed] PR: Drop it" in out["closed"]
    assert "needs `pr_num`" in out["no_num"] and "needs `comment`" in out["no_comment"]
    assert "Created private space repo" in out["space"] and fake_hub.repo("fake-user/demo", "space").sdk == "gradio"
    assert "needs `space_sdk`" in out["no_sdk"] and "gated=False" in out["update"]
    # get_pr reads; merge, close and settings are writes (merge and settings never approved by policy alone)
    verdicts = {op: policy(classify("hf_repo_git", git.validate({"operation": op, "pr_num": 1, **repo})))
                for op in ("get_pr", "merge_pr", "close_pr", "comment_pr", "update_repo")}
    assert not verdicts["get_pr"].needs_approval
    assert all(verdicts[op].needs_approval for op in ("merge_pr", "close_pr", "comment_pr", "update_repo"))
    assert not verdicts["merge_pr"].auto_allowed and not verdicts["update_repo"].auto_allowed


def test_repo_git_and_http_failures(tmp_path, fake_hub):
    tools = _tools(fake_hub)
    col = Collector(tmp_path / "ws")
    git = tools["hf_repo_git"]

    async def go():
        out = {}
        out["create"] = await outcome(git, col.ctx, operation="create_repo", repo_id="fake-user/new-model")
        out["branch"] = await outcome(git, col.ctx, operation="create_branch", repo_id="fake-user/new-model",
                                      branch="dev")
        out["tag"] = await outcome(git, col.ctx, operation="create_tag", repo_id="fake-user/new-model", tag="v1")
        out["refs"] = await outcome(git, col.ctx, operation="list_refs", repo_id="fake-user/new-model")
        out["pr"] = await outcome(git, col.ctx, operation="create_pr", repo_id="fake-user/new-model", title="Try")
        out["prs"] = await outcome(git, col.ctx, operation="list_prs", repo_id="fake-user/new-model")
        out["settings"] = await outcome(git, col.ctx, operation="settings", repo_id="fake-user/new-model",
                                        gated="auto")
        out["again"] = await outcome(git, col.ctx, operation="create_repo", repo_id="fake-user/new-model")
        out["forbidden"] = await outcome(git, col.ctx, operation="create_repo", repo_id="other-org/x")
        for status in (401, 429, 500):
            fake_hub.fail("repos.info", status, times=1)
            out[status] = await outcome(git, col.ctx, operation="info", repo_id="fake-user/new-model")
        out["missing"] = await outcome(tools["hf_repo_files"], col.ctx, operation="list", repo_id="fake-user/none")
        out["was_private"] = fake_hub.repo("fake-user/new-model").private
        out["deleted"] = await outcome(git, col.ctx, operation="delete_repo", repo_id="fake-user/new-model")
        return out

    out = run(go())
    assert out["was_private"] is True and "Created private model repo" in out["create"]
    assert "dev" in out["refs"] and "v1" in out["refs"] and "Opened draft PR #1" in out["pr"]
    assert "[draft] PR: Try (by fake-user)" in out["prs"]
    assert "Settings of" in out["settings"]
    assert "409" in out["again"] and "403" in out["forbidden"]
    assert "401" in out[401] and "HF_TOKEN" in out[401]
    assert "429" in out[429] and "rate limited" in out[429]
    assert "500" in out[500] and "retry" in out[500]
    assert "404" in out["missing"]
    assert "Deleted model repo" in out["deleted"] and ("model", "fake-user/new-model") not in fake_hub.repos
    assert all(len(v) < 1_200 for k, v in out.items() if k in (401, 429, 500, "missing", "again", "forbidden"))


def test_create_public_repo_is_never_auto(tmp_path, fake_hub):
    tools = _tools(fake_hub)
    script = [call("hf_repo_git", {"operation": "create_repo", "repo_id": "fake-user/pub", "private": False}), "ok"]
    session = scripted_session(tmp_path, [tools["hf_repo_git"]], script, approve="auto", budget=5.0)
    run(session.run_turn("make it public"))
    (result,) = results(session)
    assert not result.ok and ("model", "fake-user/pub") not in fake_hub.repos
