"""The magics on a real IPython shell: model choice, help, kernel context tools, edited-script approval, resume."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from IPython import get_ipython
from IPython.testing.globalipapp import start_ipython

from mlintern_jupyter.control.model_choice import NO_MODEL_HELP, choose_model
from mlintern_jupyter.jupyter.kernel_context import summarize
from mlintern_jupyter.tools.registry import Tool


@pytest.fixture
def ip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    # The ipywidgets cards (the fallback renderer), whose buttons these tests click; see test_card_widget.py.
    monkeypatch.setenv("MLINTERN_CARDS", "ipywidgets")
    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "mlintern_jupyter")
    yield shell
    shell.run_line_magic("unload_ext", "mlintern_jupyter")


def agent_of(ip):
    return ip.magics_manager.registry["InternMagics"].agent


def test_model_resolution_order() -> None:
    env = {"MLINTERN_MODEL": "openai/gpt-5-mini", "ANTHROPIC_API_KEY": "k", "HF_TOKEN": "t"}
    assert choose_model("demo", "ollama/x", "trait/m", env) == "demo"
    assert choose_model(None, "ollama/x", "trait/m", env) == "ollama/x"
    assert choose_model(None, None, "trait/m", env) == "openai/gpt-5-mini"
    assert choose_model(None, None, "trait/m", {}) == "trait/m"
    assert choose_model(None, None, "", {"OPENAI_API_KEY": "k", "HF_TOKEN": "t"}).startswith("openai/")
    # Only an HF token: Hugging Face Inference Providers through the router, as in ml-intern.
    assert choose_model(None, None, "", {"HF_TOKEN": "t"}) == "anthropic/claude-opus-4.8:fal-ai"
    assert choose_model(None, None, "", {"HF_TOKEN": "  "}) is None
    assert choose_model(None, None, "", {}) is None


def test_without_any_model_the_cell_explains_how_to_configure_one(ip, capsys, monkeypatch) -> None:
    monkeypatch.delenv("MLINTERN_MODEL", raising=False)
    ip.run_cell_magic("intern", "", "hello")
    out = capsys.readouterr().out
    assert out.strip() == NO_MODEL_HELP.strip()
    assert "--model demo" in out and agent_of(ip).session is None


def test_help_lists_the_options_and_model_lists_local_prefixes(ip, capsys) -> None:
    doc = ip.magics_manager.magics["cell"]["intern"].__doc__
    for option in ("--model", "--approve", "--budget", "--max-iterations", "--wait", "--new"):
        assert option in doc
    ip.run_line_magic("intern", "model")
    out = capsys.readouterr().out
    for prefix in ("ollama/", "vllm/", "hosted_vllm/", "lm_studio/", "demo"):
        assert prefix in out


def test_trait_default_model_and_new_session(ip, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("MLINTERN_MODEL", raising=False)
    ip.magics_manager.registry["InternMagics"].default_model = "scripted:echo"
    ip.run_cell_magic("intern", "--wait", "one")
    agent = agent_of(ip)
    first = agent.session.id
    ip.run_cell_magic("intern", "--wait", "two")
    assert agent.session.id == first
    assert [e.text for e in agent.session.events if e.kind == "assistant_message"] == ["You said: one", "You said: two"]
    ip.run_cell_magic("intern", "--wait --new --budget 3", "three")
    assert agent.session.id != first and agent.session.budget.cap_usd == 3.0


def test_kernel_tools_summarise_a_ten_million_row_frame_and_record_errors(ip) -> None:
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    ip.user_ns["df"] = pd.DataFrame({"x": np.zeros(10_000_000, dtype="float32"), "y": np.arange(10_000_000)})
    ip.run_cell("1/0")
    ip.run_cell("a = 41 + 1\na")
    agent = agent_of(ip)
    tools = {t.name: t for t in agent.kernel_context.tools()}
    run = lambda tool, **kw: asyncio.run(tools[tool].run(kw, None))  # noqa: E731
    info = json.loads(run("kernel_inspect", name="df").content)
    assert info["shape"] == [10_000_000, 2] and info["dtypes"] == {"x": "float32", "y": "int64"}
    assert len(run("kernel_inspect", name="df").content) < 4_000
    with pytest.raises(Exception, match="not a variable name"):
        run("kernel_inspect", name="__import__('os').system('x')")
    history = json.loads(run("kernel_history", last=5).content)
    assert any("ZeroDivisionError" in c.get("error", "") for c in history)
    assert any(c.get("result") == "42" for c in history)
    digest = agent.kernel_context.digest()
    assert "ZeroDivisionError" in digest and "a = 41 + 1" in digest
    assert agent.kernel_context.digest() is None  # only what ran since the last prompt
    assert "1/0" in run("notebook_read").content


def test_summaries_stay_bounded_without_pandas() -> None:
    info = summarize(list(range(1_000_000)))
    assert info["len"] == 1_000_000 and len(info["preview"]) < 2_000


def test_edit_in_a_cell_then_running_that_cell_approves_the_edited_script(ip, tmp_path, capsys) -> None:
    ran = []

    async def risky(script: str) -> str:
        """Run a script."""
        ran.append(script)
        return "ok"

    agent = agent_of(ip)
    agent.extra_tools.append(Tool.from_function(risky))
    model = tmp_path / "m.json"
    model.write_text(json.dumps([{"text": "", "tool_calls": [{"name": "risky", "arguments": {"script": "v1"}}]}, "ok"]))
    ip.run_cell_magic("intern", f"--model scripted:{model} --wait", "go")
    assert [e.reason for e in agent.session.events if e.kind == "turn_ended"] == ["awaiting_approval"]
    card = next(iter(agent.view.approvals.values()))
    card.edit_button.click()
    assert card.edit_text.value.startswith(f"%%intern approve {card.nonce}\n")
    ip.run_cell(f"%%intern approve {card.nonce}\nv2 edited")
    for future, _ in agent.futures:
        future.result(timeout=10)
    assert ran == ["v2 edited"]
    resolved = [e for e in agent.session.events if e.kind == "approval_resolved"]
    assert resolved[0].decision == "approved"
    assert [e.status for e in agent.session.events if e.kind == "tool_result"] == ["ok"]


def turn_waiting_on_risky(ip, tmp_path) -> tuple[Any, Path, list[str]]:
    """A --wait turn that ended asking to run `risky`: (the agent, its scripted model file, the scripts run)."""
    ran: list[str] = []

    async def risky(script: str) -> str:
        """Run a script."""
        ran.append(script)
        return "ok"

    agent = agent_of(ip)
    agent.extra_tools.append(Tool.from_function(risky))
    model = tmp_path / "m.json"
    model.write_text(json.dumps([{"text": "", "tool_calls": [{"name": "risky", "arguments": {"script": "s"}}]}]))
    ip.run_cell_magic("intern", f"--model scripted:{model} --wait", "go")
    return agent, model, ran


def test_resume_shows_history_and_a_live_pending_approval(ip, tmp_path) -> None:
    agent, model, ran = turn_waiting_on_risky(ip, tmp_path)
    session_id = agent.session.id
    agent.session.close()
    agent.session = None
    model.write_text(json.dumps(["finished after the resume"]))
    # Scripted models log only their file name, so name the file again (as `%intern model` would) to resume.
    ip.run_line_magic("intern", f"model scripted:{model}")
    from mlintern_jupyter.control.commands import Resume

    message = agent.send(Resume(session_id=session_id)).message
    assert "1 approval(s) pending" in message, message
    card = next(iter(agent.view.approvals.values()))
    assert not card.approve_button.disabled
    card.approve_button.click()
    for future, _ in agent.futures:
        future.result(timeout=10)
    assert ran == ["s"]
    assert agent.session.events[-1].kind == "turn_ended" and agent.session.events[-1].reason == "done"


def test_an_answer_from_the_command_then_resume_wait_runs_the_call_before_the_cell_returns(ip, tmp_path) -> None:
    """`mlintern approve` records the answer through the dispatcher; `%intern resume ID --wait` (what `mlintern
    resume` runs in its kernel) continues it through the same gate and blocks until the turn ends."""
    from mlintern_jupyter.cli import actions

    agent, model, ran = turn_waiting_on_risky(ip, tmp_path)
    session, nonce = agent.session, next(iter(agent.session.approvals.records))
    agent.session.close()
    agent.session = None
    assert actions.approve(session.id, nonce).startswith(f"Approved risky in session {session.name}")
    model.write_text(json.dumps(["finished after the resume"]))
    ip.run_line_magic("intern", f"model scripted:{model}")
    ip.run_line_magic("intern", f"resume {session.id} --wait")
    assert ran == ["s"]  # already run: the cell waited for the turn
    assert agent.session.events[-1].kind == "turn_ended" and agent.session.events[-1].reason == "done"


def test_raising_the_budget_continues_a_paused_turn(ip, tmp_path, capsys) -> None:
    import time

    from mlintern_jupyter.agent.models import FunctionModel, ModelResponse, ModelUsage
    from mlintern_jupyter.agent.models.base import tool_call

    script = tmp_path / "s.json"
    script.write_text('["hello"]')
    ip.run_cell_magic("intern", f"--model scripted:{script} --budget 0.5 --wait", "hi")
    agent = agent_of(ip)
    answers = iter([ModelResponse(tool_calls=(tool_call("plan_tool", {"todos": []}, "a"),),
                                  usage=ModelUsage(10, 1, cost_usd=0.4)),
                    ModelResponse(tool_calls=(tool_call("plan_tool", {"todos": []}, "b"),),
                                  usage=ModelUsage(10, 1, cost_usd=0.4)),
                    ModelResponse(text="finished", usage=ModelUsage(10, 1))])
    agent.session.model = FunctionModel(lambda *a: next(answers))
    ip.run_cell_magic("intern", "--wait", "spend")
    ends = [e.reason for e in agent.session.events if e.kind == "turn_ended"]
    assert ends == ["done", "budget"]
    ip.run_line_magic("intern", "budget 5")
    assert "the paused turn continues" in capsys.readouterr().out
    deadline = time.monotonic() + 10
    while len([e for e in agent.session.events if e.kind == "turn_ended"]) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [e.reason for e in agent.session.events if e.kind == "turn_ended"] == ["done", "budget", "done"]
    assert [e.text for e in agent.session.events if e.kind == "assistant_message"][-1] == "finished"


def test_slack_notifications_are_opt_in_from_the_config(ip, tmp_path, monkeypatch, fake_slack) -> None:
    import os
    import time

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"slack": {"events": ["turn_done"]}}))
    monkeypatch.setenv("MLINTERN_HOME", str(home))
    monkeypatch.setenv("SLACK_WEBHOOK_URL", fake_slack.webhook_url)
    assert os.environ["MLINTERN_HOME"] == str(home)
    ip.run_line_magic("unload_ext", "mlintern_jupyter")
    ip.run_line_magic("load_ext", "mlintern_jupyter")  # the config is read when the extension loads
    script = tmp_path / "s.json"
    script.write_text('["all done"]')
    ip.run_cell_magic("intern", f"--model scripted:{script} --wait", "hi")
    deadline = time.monotonic() + 10
    while not fake_slack.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake_slack.messages) == 1 and "turn ended (done)" in json.dumps(fake_slack.messages[0])


def test_mcp_servers_from_the_config_join_the_notebook_session(ip, tmp_path, monkeypatch) -> None:
    import sys

    from tests.test_tools_mcp import SERVER

    home = tmp_path / "home"
    home.mkdir()
    server = tmp_path / "calc_server.py"
    server.write_text(SERVER)
    (home / "config.json").write_text(json.dumps({"mcpServers": {
        "calc": {"command": sys.executable, "args": [str(server)]},
        "calcro": {"command": sys.executable, "args": [str(server)], "readOnly": True}}}))
    monkeypatch.setenv("MLINTERN_HOME", str(home))
    ip.run_line_magic("unload_ext", "mlintern_jupyter")
    ip.run_line_magic("load_ext", "mlintern_jupyter")
    script = tmp_path / "s.json"
    script.write_text(json.dumps([{"tool_calls": [{"id": "a", "name": "calcro__add", "arguments": {"a": 2, "b": 40}},
                                                  {"id": "b", "name": "calc__add", "arguments": {"a": 1, "b": 1}}]},
                                  "done"]))
    ip.run_cell_magic("intern", f"--model scripted:{script} --approve deny --wait", "add")
    session = agent_of(ip).session
    results = {e.call_id: e for e in session.events if e.kind == "tool_result"}
    assert results["a"].ok and "42" in results["a"].content  # read-only server: runs without asking
    assert results["b"].status == "denied"  # any other MCP call goes through the gate
