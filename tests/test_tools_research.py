"""The research sub-agent, default_tools, and the engine's independence from Jupyter."""

# ruff: noqa: F811

from __future__ import annotations

import subprocess
import sys

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.approval import classify
from mlintern_jupyter.agent.messages import ToolCallPart
from mlintern_jupyter.agent.models import FunctionModel, ModelResponse, ModelUsage
from mlintern_jupyter.agent.policy import policy
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.tools import ToolsConfig, default_tools
from tests.fakes.fixtures import fake_hub  # noqa: F401
from tests.test_tools_support import call, of_kind, results, run, scripted_session

NAMES = {"hf_jobs", "hf_inspect_dataset", "hf_papers", "explore_hf_docs", "fetch_hf_docs", "find_hf_api", "hf_repo_files",
         "hf_repo_git", "github_find_examples", "github_list_repos", "github_read_file", "web_search", "research",
         "plan_tool", "sandbox_create", "bash", "read", "write", "edit", "notify"}


ANSWER = ("## Recipe table\n| # | Paper | Dataset | Model | Method | Hardware | Result |\n|---|---|---|---|---|---|---|\n"
          "| 1 | DPO (2305.18290) | not reported | not reported | DPO | not reported | not reported |\n\n"
          "## Open questions\nNone.")


def test_research_subagent_uses_read_only_tools_through_the_loop(tmp_path, fake_hub):
    fake_hub.add_paper("2305.18290", "Direct Preference Optimization", "DPO trains from preferences.")
    config = ToolsConfig(hf_endpoint=fake_hub.url, hf_token=fake_hub.token, datasets_server_url=fake_hub.url)
    tools = default_tools(config)
    # One scripted model serves the parent and (through session.model) the child, in call order.
    script = [
        call("research", {"task": "Which paper introduced DPO?", "context": "the user wants DPO on a 1B model"}, "r1"),
        {"tool_calls": [{"id": "c1", "name": "hf_papers", "arguments": {"operation": "search", "query": "preference"}},
                        {"id": "c2", "name": "hf_jobs", "arguments": {"operation": "ps"}},
                        {"id": "c3", "name": "hf_repo_files", "arguments": {"operation": "delete", "repo_id": "me/x",
                                                                              "path": "README.md"}}]},
        ANSWER,
        "The answer is 2305.18290.",
    ]
    session = scripted_session(tmp_path, tools, script, approve="auto", budget=5.0)
    ended = run(session.run_turn("research DPO"))
    assert ended.reason == "done"
    (result,) = results(session)
    assert result.ok and "2305.18290" in result.content and "3 tool calls" in result.content
    child_log = (tmp_path / "sessions" / f"{session.id}-research-r1" / "events.jsonl").read_text()
    # the child ran its calls through the loop: the paper search ran, the job tool is not in its registry, and its
    # hf_repo_files only reads (a delete is an invalid call, never an approval request)
    assert '"tool":"hf_papers"' in child_log and "unknown tool 'hf_jobs'" in child_log
    assert "approval_requested" not in child_log and "Input should be 'list' or 'read'" in child_log
    # the context reached the child's first prompt
    assert "the user wants DPO on a 1B model" in child_log
    steps = [(e.step, e.tool) for e in of_kind(session, ev.SubagentProgress) if e.call_id == "r1"]
    assert steps[0] == ("started", "") and steps[-1][0] == "ended"
    assert ("tool_call", "hf_papers") in steps and ("tool_result", "hf_papers") in steps
    # no per-step tool cards: the child's calls are not tool_call events of the parent
    assert [e.call_id for e in of_kind(session, ev.ToolCall)] == ["r1"]
    assert [u.model for u in of_kind(session, ev.Usage)][1] == "scripted (research)"
    assert not of_kind(session, ev.ApprovalRequested)


def test_research_asks_once_for_the_required_structure(tmp_path):
    tools = default_tools(ToolsConfig(hf_token=""))
    script = [call("research", {"task": "best SFT recipe"}, "r1"), "Use SFT.", ANSWER, "ok"]
    session = scripted_session(tmp_path, tools, script, approve="auto")
    run(session.run_turn("go"))
    (result,) = results(session)
    assert "## Recipe table" in result.content and "Use SFT." not in result.content
    child = (tmp_path / "sessions" / f"{session.id}-research-r1" / "events.jsonl").read_text()
    assert "Rewrite your final answer now" in child


def test_research_takes_no_model_from_the_model(tmp_path):
    """Attack (issue 11): research(model="scripted:/path") replayed any file as the sub-agent's answers and told
    whether a path exists. There is no `model` argument: both calls are invalid, identically, and nothing is read."""
    secret = tmp_path / "outside" / "answers.json"
    secret.parent.mkdir()
    secret.write_text('["LEAKED FILE CONTENT"]')
    tools = default_tools(ToolsConfig(hf_token=""))
    script = [{"tool_calls": [
        {"id": "a", "name": "research", "arguments": {"task": "x", "model": f"scripted:{secret}"}},
        {"id": "b", "name": "research", "arguments": {"task": "x", "model": f"scripted:{tmp_path}/missing.json"}},
    ]}, "done"]
    session = scripted_session(tmp_path, tools, script, approve="auto")
    run(session.run_turn("go"))
    first, second = results(session)
    assert not first.ok and not second.ok and first.status == second.status == "invalid"
    assert first.content.replace(str(secret), "P") == second.content.replace(f"{tmp_path}/missing.json", "P")
    assert "model" in first.content and "LEAKED" not in (session.dir / "events.jsonl").read_text()
    assert not list((tmp_path / "sessions").glob("*-research-*"))
    assert "model" not in tools.get("research").parameters["properties"]


def test_concurrent_research_calls_share_the_parents_budget(tmp_path):
    """Attack (issue 11): five research calls in one batch each got the whole remaining budget (4.8x the cap). Now
    every child model call is checked against the one shared Budget first, and each call's cost lands in the
    parent's log as it happens."""
    cap, per_call, children = 1.00, 0.10, 5
    seen_at_start: list[float] = []
    holder: dict = {}

    async def model_fn(messages, tools, settings):
        import asyncio

        await asyncio.sleep(0)  # let the five children interleave
        if any(t["name"] == "research" for t in tools):  # the parent
            if holder.get("asked"):
                return "done"
            holder["asked"] = True
            return {"tool_calls": [{"id": f"r{i}", "name": "research", "arguments": {"task": f"topic {i}"}}
                                   for i in range(children)]}
        seen_at_start.append(holder["session"].budget.committed_usd)
        return ModelResponse(tool_calls=(ToolCallPart("", "read", '{"path": "notes.txt"}'),),
                             usage=ModelUsage(prompt_tokens=10, completion_tokens=5, cost_usd=per_call),
                             finish_reason="tool_calls")

    config = SessionConfig(model="function", approve_mode="auto", budget_usd=cap)
    session = Session(config, default_tools(ToolsConfig(hf_token="")), model=FunctionModel(model_fn), home=tmp_path)
    holder["session"] = session
    ended = run(session.run_turn("research five topics"))
    spent = session.budget.llm_spent_usd
    # no child model call started once the cap was reached; at most one call per child was in flight then
    assert all(committed < cap for committed in seen_at_start)
    assert spent <= cap + children * per_call + 1e-9, spent
    assert spent >= cap - 1e-9 and ended.reason == "budget"
    # the parent's log holds every child call's cost, so a resumed session folds the same budget
    logged = sum(e.cost_usd for e in of_kind(session, ev.Usage))
    assert abs(logged - spent) < 1e-9
    resumed = Session.resume(session.id, session.tools, home=tmp_path, model=FunctionModel(model_fn))
    assert abs(resumed.budget.llm_spent_usd - spent) < 1e-9
    for r in results(session):
        assert "stopped: budget" in r.content or "budget" in r.content


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


def test_research_prices_its_calls_with_the_price_the_person_gave(tmp_path):
    """A model litellm cannot price, priced by `%intern price`: the sub-agent's calls are priced the same way
    (they were "cost unknown" while the parent's were counted), and the child's log says where the price came from."""

    asked: list[bool] = []

    async def model_fn(messages, tools, settings):
        if any(t["name"] == "research" for t in tools):  # the parent
            if asked:
                return ModelResponse(text="done", usage=ModelUsage(prompt_tokens=1_000, completion_tokens=100, cost_usd=None))
            asked.append(True)
            return ModelResponse(tool_calls=(ToolCallPart("r1", "research", '{"task": "recipes"}'),),
                                 usage=ModelUsage(prompt_tokens=1_000, completion_tokens=100, cost_usd=None),
                                 finish_reason="tool_calls")
        return ModelResponse(text=ANSWER, usage=ModelUsage(prompt_tokens=2_000_000, completion_tokens=0, cost_usd=None))

    config = SessionConfig(model="function", approve_mode="auto", budget_usd=10.0)
    session = Session(config, default_tools(ToolsConfig(hf_token="")), model=FunctionModel(model_fn), home=tmp_path)
    session.set_price(1.0, 2.0)
    run(session.run_turn("research recipes"))
    costs = {u.model: u.cost_usd for u in of_kind(session, ev.Usage)}
    assert costs["function (research)"] == 2.0  # 2M input tokens at $1 per million
    assert abs(session.budget.llm_spent_usd - (2.0 + 2 * 0.0012)) < 1e-9
    child = Session.resume(f"{session.id}-research-r1", default_tools(ToolsConfig(hf_token="")), home=tmp_path,
                           model=FunctionModel(model_fn))
    assert child.state.provider.prices == {"function": (1.0, 2.0)}
    child.close()
