"""GitHub, web search, Slack notifications and the plan tool, against loopback fakes through httpx."""

# ruff: noqa: F811

from __future__ import annotations

import asyncio

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.tools.config import SlackConfig, ToolsConfig
from mlintern_jupyter.tools.github import make_github_tools
from mlintern_jupyter.tools.notify import make_notify, slack_listener
from mlintern_jupyter.tools.plan import plan_tools
from mlintern_jupyter.tools.web import make_web_search
from tests.fakes.fixtures import fake_github, fake_search, fake_slack  # noqa: F401
from tests.test_tools_support import Collector, call, of_kind, outcome, results, run, scripted_session


def _gh(fake_github, token: str | None = "ghp_fake"):
    return {t.name: t for t in make_github_tools(ToolsConfig(github_api_url=fake_github.url, github_token=token))}


def test_github_tools(tmp_path, fake_github, monkeypatch):
    tools = _gh(fake_github)
    anon = _gh(fake_github, token=None)
    col = Collector(tmp_path / "ws")

    async def go():
        out = {}
        out["examples"] = await outcome(tools["github_find_examples"], col.ctx, query="SFTTrainer",
                                        repo="huggingface/trl")
        out["anon"] = await outcome(anon["github_find_examples"], col.ctx, query="transformers")
        out["repos"] = await outcome(tools["github_list_repos"], col.ctx, owner="huggingface", sort="stars")
        out["file"] = await outcome(tools["github_read_file"], col.ctx, repo="huggingface/trl",
                                    path="examples/scripts/sft.py")
        out["nb"] = await outcome(tools["github_read_file"], col.ctx, repo="huggingface/trl",
                                  path="examples/notebooks/sft_example.ipynb")
        out["png"] = await outcome(tools["github_read_file"], col.ctx, repo="huggingface/trl", path="assets/logo.png")
        out["big"] = await outcome(tools["github_read_file"], col.ctx, repo="huggingface/trl",
                                   path="large/weights.bin")
        out["dir"] = await outcome(tools["github_read_file"], col.ctx, repo="huggingface/trl", path="examples")
        out["missing"] = await outcome(tools["github_read_file"], col.ctx, repo="huggingface/trl", path="nope.py")
        fake_github.rate_limit(403, times=1)
        out["limited"] = await outcome(tools["github_list_repos"], col.ctx, owner="huggingface")
        fake_github.fail("users.repos", 502, times=1)
        out["down"] = await outcome(tools["github_list_repos"], col.ctx, owner="huggingface")
        return out

    out = run(go())
    assert "huggingface/trl: examples/scripts/sft.py" in out["examples"]
    assert "needs GITHUB_TOKEN" in out["anon"] and "huggingface/transformers" in out["anon"]
    lines = out["repos"].splitlines()
    assert lines[1].startswith("- huggingface/transformers (150000 stars") and "huggingface/trl" in lines[2]
    assert "SFTTrainer" in out["file"] or "sft" in out["file"].lower()
    assert "# %% [code] cell" in out["nb"] and '"outputs"' not in out["nb"]
    assert "binary file" in out["png"]
    assert "binary file" in out["big"] and len(out["big"]) < 300
    assert "examples/scripts/" in out["dir"]
    assert "404" in out["missing"]
    assert "429" in out["limited"] and "rate limited" in out["limited"]
    assert "502" in out["down"]
    auth = [r.authorization for r in fake_github.requests]
    assert "Bearer ghp_fake" in auth and all(a in (None, "Bearer ghp_fake") for a in auth)


def test_github_large_text_file_is_read_partially(tmp_path, fake_github):
    fake_github.add_repo("org/logs", files={"train.log": "".join(f"step {i}\n" for i in range(600_000))})
    col = Collector(tmp_path / "ws")
    out = run(outcome(_gh(fake_github)["github_read_file"], col.ctx, repo="org/logs", path="train.log"))
    assert "a large file is read partially" in out and "step 0" in out and len(out) < 30_000


def test_web_search_parses_filters_and_reports_captcha(tmp_path, fake_search):
    fake_search.set_results("trl dpo", [
        {"title": "DPO Trainer", "url": "https://huggingface.co/docs/trl/dpo_trainer", "snippet": "Train with DPO"},
        {"title": "Spam & eggs", "url": "https://spam.example.com/dpo", "snippet": "buy now"},
        {"title": "TRL on GitHub", "url": "https://github.com/huggingface/trl", "snippet": "the repo"},
    ])
    tool = make_web_search(ToolsConfig(search_url=fake_search.url + "/html/",
                                       search_blocked_domains=("example.com",)))
    col = Collector(tmp_path / "ws")

    async def go():
        everything = await outcome(tool, col.ctx, query="trl dpo")
        only_hf = await outcome(tool, col.ctx, query="trl dpo", allowed_domains=["huggingface.co"])
        fake_search.challenge = True
        blocked = await outcome(tool, col.ctx, query="trl dpo")
        return everything, only_hf, blocked

    everything, only_hf, blocked = run(go())
    assert "1. DPO Trainer\n   https://huggingface.co/docs/trl/dpo_trainer\n   Train with DPO" in everything
    assert "Spam & eggs" not in everything and "https://github.com/huggingface/trl" in everything
    assert "github.com" not in only_hf and "DPO Trainer" in only_hf
    assert "CAPTCHA" in blocked


def test_web_search_domain_filters_given_as_urls_are_normalised(tmp_path, fake_search):
    """Models pass URLs as domains: an allowed URL used to match nothing and a blocked one to block nothing."""
    fake_search.set_results("trl", [
        {"title": "DPO Trainer", "url": "https://huggingface.co/docs/trl/dpo_trainer", "snippet": "docs"},
        {"title": "Spam", "url": "https://spam.example.com/dpo", "snippet": "buy now"},
        {"title": "TRL repo", "url": "https://github.com/huggingface/trl", "snippet": "the repo"},
    ])
    tool = make_web_search(ToolsConfig(search_url=fake_search.url + "/html/"))
    col = Collector(tmp_path / "ws")

    async def go():
        allowed = await outcome(tool, col.ctx, query="trl", allowed_domains=["https://www.HuggingFace.co/docs/"])
        blocked = await outcome(tool, col.ctx, query="trl", blocked_domains=["https://example.com/", "*.github.com"])
        return allowed, blocked

    allowed, blocked = run(go())
    assert "DPO Trainer" in allowed and "github.com" not in allowed and "Spam" not in allowed
    assert "Spam" not in blocked and "TRL repo" not in blocked and "DPO Trainer" in blocked


def test_notify_tool_and_listener(tmp_path, fake_slack):
    bot = SlackConfig(bot_token=fake_slack.bot_token, channel="#general", api_url=fake_slack.url + "/api",
                      events=frozenset({"tool", "approval", "turn_done"}))
    hook = SlackConfig(webhook_url=fake_slack.webhook_url, events=frozenset({"error"}))
    col = Collector(tmp_path / "ws")

    async def go():
        sent = await outcome(make_notify(ToolsConfig(slack=bot)), col.ctx, message="job done: acc 0.93")
        off = await outcome(make_notify(ToolsConfig(slack=SlackConfig(webhook_url=fake_slack.webhook_url))),
                            col.ctx, message="x")
        bad = SlackConfig(bot_token="xoxb-wrong", channel="#general", api_url=fake_slack.url + "/api",
                          events=frozenset({"tool"}))
        refused = await outcome(make_notify(ToolsConfig(slack=bad)), col.ctx, message="x")
        failures: list[str] = []
        listener = slack_listener(bot, on_failure=failures.append)
        webhook = slack_listener(hook)
        for item in (listener, webhook):
            item(ev.ApprovalRequested(call_id="c", nonce="n", action_sha256="h", cost_usd=1.5, expires_at="",
                                      tool="hf_jobs", reason="runs a job on HF compute (a10g-small)"))
            item(ev.Error(message="provider down"))
            item(ev.TurnEnded(reason="done"))
            item(ev.ToolOutput(call_id="c", text="noise"))
        await listener.drain()
        await webhook.drain()
        return sent, off, refused, failures

    sent, off, refused, failures = run(go())
    assert sent == "Sent to Slack channel #general." and "not enabled" in off
    assert "invalid_auth" in refused and failures == []
    texts = [(m["via"], m["text"]) for m in fake_slack.messages]
    assert ("api", "job done: acc 0.93") in texts
    api = [t for via, t in texts if via == "api"]
    assert any("needs approval: hf_jobs" in t and "$1.50" in t for t in api) and any("turn ended (done)" in t for t in api)
    assert not any("provider down" in t for t in api)
    assert [t for via, t in texts if via == "webhook"] == [":x: mlintern error: provider down"]


def test_plan_tool_updates_the_session_plan(tmp_path):
    todos = [{"id": "1", "content": "inspect imdb", "status": "completed"},
             {"id": "2", "content": "write the script", "status": "in_progress"}]
    bad = [{"id": "1", "content": "x", "status": "doing"}]
    script = [call("plan_tool", {"todos": todos}, "p1"), call("plan_tool", {"todos": bad}, "p2"), "done"]
    session = scripted_session(tmp_path, plan_tools(), script, approve="ask")
    run(session.run_turn("plan it"))
    first, second = results(session)
    assert first.ok and first.content == "Plan updated: 1/2 done; now: write the script"
    assert session.plan == todos and of_kind(session, ev.PlanUpdated)[0].todos == todos
    assert not second.ok and "status" in second.content
    assert not of_kind(session, ev.ApprovalRequested)


def test_listener_without_a_running_loop(fake_slack):
    hook = SlackConfig(webhook_url=fake_slack.webhook_url, events=frozenset({"turn_done"}))
    slack_listener(hook)(ev.TurnEnded(reason="done"))
    for _ in range(100):
        if fake_slack.messages:
            break
        asyncio.run(asyncio.sleep(0.05))
    assert fake_slack.messages and "turn ended" in fake_slack.messages[0]["text"]
