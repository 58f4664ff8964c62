"""The research sub-agent, default_tools, and the engine's independence from Jupyter."""

# ruff: noqa: F811

from __future__ import annotations

import subprocess
import sys

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.approval import classify, policy
from mlintern_jupyter.tools import ToolsConfig, default_tools
from tests.fakes.fixtures import fake_hub  # noqa: F401
from tests.test_tools_support import call, of_kind, results, run, scripted_session

NAMES = {"hf_jobs", "hf_inspect_dataset", "hf_papers", "explore_hf_docs", "fetch_hf_docs", "hf_repo_files",
         "hf_repo_git", "github_find_examples", "github_list_repos", "github_read_file", "web_search", "research",
         "plan_tool", "sandbox_create", "bash", "read", "write", "edit", "notify"}


def test_research_subagent_uses_read_only_tools_through_the_loop(tmp_path, fake_hub):
    fake_hub.add_paper("2305.18290", "Direct Preference Optimization", "DPO trains from preferences.")
    config = ToolsConfig(hf_endpoint=fake_hub.url, hf_token=fake_hub.token, datasets_server_url=fake_hub.url)
    tools = default_tools(config)
    # One scripted model serves the parent and (through session.model) the child, in call order.
    script = [
        call("research", {"task": "Which paper introduced DPO?"}, "r1"),
        {"tool_calls": [{"id": "c1", "name": "hf_papers", "arguments": {"operation": "search", "query": "preference"}},
                        {"id": "c2", "name": "hf_jobs", "arguments": {"operation": "ps"}}]},
        "DPO comes from arXiv 2305.18290 (Direct Preference Optimization).",
        "The answer is 2305.18290.",
    ]
    session = scripted_session(tmp_path, tools, script, approve="ask")
    ended = run(session.run_turn("research DPO"))
    assert ended.reason == "done"
    (result,) = results(session)
    assert result.ok and "2305.18290" in result.content and "2 tool calls" in result.content
    child_log = (tmp_path / "sessions" / f"{session.id}-research-r1" / "events.jsonl").read_text()
    # the child ran its calls through the loop: the paper search ran, the job tool is not in its registry
    assert '"tool":"hf_papers"' in child_log and "unknown tool 'hf_jobs'" in child_log
    progress = "".join(e.text for e in of_kind(session, ev.ToolOutput) if e.call_id == "r1")
    assert "[research] hf_papers" in progress
    assert [u.model for u in of_kind(session, ev.Usage)][1] == "scripted (research)"
    assert not of_kind(session, ev.ApprovalRequested)


def test_default_tools_names_schemas_and_policy(tmp_path):
    registry = default_tools(ToolsConfig(hf_token=""))
    assert set(registry.names) == NAMES
    for item in registry:
        assert item.parameters["type"] == "object" and item.description, item.name
    jobs = registry.get("hf_jobs")
    args = jobs.validate({"operation": "uv", "script": "print(1)"})
    spec = classify("hf_jobs", args)
    assert (spec.operation, spec.runtime, spec.hardware_flavor, spec.timeout_s, spec.script) == (
        "uv", "local", "cpu-basic", 1800, "print(1)")
    assert policy(spec).reason == "runs code as a local job"
    hf_args = default_tools(ToolsConfig(hf_token="hf_x")).get("hf_jobs").validate(
        {"operation": "run", "command": ["python", "t.py"], "hardware_flavor": "a100-large", "namespace": "org",
         "image": "pytorch/pytorch", "timeout": "2h"})
    spec = classify("hf_jobs", hf_args)
    assert (spec.runtime, spec.hardware_flavor, spec.timeout_s, spec.namespace, spec.image, spec.command) == (
        "hf", "a100-large", 7200, "org", "pytorch/pytorch", ("python", "t.py"))
    assert policy(spec).spends and policy(spec).needs_approval
    repo = classify("hf_repo_git", registry.get("hf_repo_git").validate(
        {"operation": "create_repo", "repo_id": "me/x"}))
    assert repo.target == "me/x" and policy(repo).needs_approval and policy(repo).auto_allowed


def test_engine_imports_no_jupyter():
    code = ("import sys; import mlintern_jupyter.tools as t; t.default_tools(); "
            "import mlintern_jupyter.tools.mcp, mlintern_jupyter.tools.sandbox_server; "
            "bad = [m for m in ('IPython', 'ipywidgets', 'traitlets', 'comm') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
