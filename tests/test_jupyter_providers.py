"""The magics for models on a real IPython shell: --effort, %intern effort, --api-base, %intern model NAME
--api-base URL, %intern price, the router models %intern model suggests, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython import get_ipython
from IPython.testing.globalipapp import start_ipython

from mlintern_jupyter.control.model_choice import ROUTER_MODELS


@pytest.fixture
def ip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    # The ipywidgets cards (the fallback renderer), whose buttons these tests click; see test_card_widget.py.
    monkeypatch.setenv("MLINTERN_CARDS", "ipywidgets")
    monkeypatch.delenv("MLINTERN_MODEL", raising=False)
    monkeypatch.delenv("MLINTERN_EFFORT", raising=False)
    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "mlintern_jupyter")
    yield shell
    shell.run_line_magic("unload_ext", "mlintern_jupyter")


def agent_of(ip):  # type: ignore[no-untyped-def]
    return ip.magics_manager.registry["InternMagics"].agent


def kinds(session, kind):  # type: ignore[no-untyped-def]
    return [e for e in session.events if e.kind == kind]


def test_api_base_and_effort_on_the_cell(ip, fake_local) -> None:
    ip.run_cell_magic("intern", f"--model vllm/Qwen/Qwen2.5-7B --api-base {fake_local.url} --effort medium --wait", "hi")
    agent = agent_of(ip)
    started = kinds(agent.session, "session_started")[0]
    assert started.api_base == fake_local.base_url and started.reasoning_effort == "medium"
    assert fake_local.requests and "reasoning_effort" not in fake_local.requests[-1].json()
    assert "effort medium (this model: none)" in agent.view.footer.widget.value
    ip.run_cell_magic("intern", "--effort low --wait", "again")
    assert [e.effort for e in kinds(agent.session, "effort_changed")] == ["low"]


def test_effort_line_magic_default_trait_and_environment(ip, capsys, monkeypatch, tmp_path) -> None:
    ip.run_line_magic("intern", "effort")
    assert "high" in capsys.readouterr().out  # the configured default
    monkeypatch.setenv("MLINTERN_EFFORT", "low")
    ip.run_line_magic("intern", "effort")
    assert "low" in capsys.readouterr().out
    ip.run_line_magic("intern", "effort extreme")
    assert "must be one of" in capsys.readouterr().out
    script = tmp_path / "s.json"
    script.write_text('["ok", "ok"]')
    ip.run_cell_magic("intern", f"--model scripted:{script} --wait", "hi")
    agent = agent_of(ip)
    assert agent.session.state.reasoning_effort == "low"
    ip.run_line_magic("intern", "effort none")
    assert agent.session.state.reasoning_effort is None
    assert "Reasoning effort: none" in (ip.run_line_magic("intern", "effort") or capsys.readouterr().out)


def test_model_with_api_base_switches_and_a_resume_reaches_the_same_server(ip, fake_local, tmp_path) -> None:
    script = tmp_path / "s.json"
    script.write_text('["ok"]')
    ip.run_cell_magic("intern", f"--model scripted:{script} --wait", "hi")
    agent = agent_of(ip)
    ip.run_line_magic("intern", f"model llamacpp/qwen --api-base {fake_local.url}")
    changed = kinds(agent.session, "model_changed")[-1]
    assert changed.model == "llamacpp/qwen" and changed.api_base == fake_local.base_url
    ip.run_cell_magic("intern", "--wait", "now locally")
    assert fake_local.requests[-1].json()["model"] == "qwen"
    session_id = agent.session.id
    agent.dispatcher.next.model = None
    assert "Resumed" in agent.send({"type": "resume", "session_id": session_id}).message
    assert agent.session.model.route.api_base == fake_local.base_url


def test_price_for_an_unpriced_model_and_what_the_budget_covers(ip, fake_router, capsys) -> None:
    ip.run_cell_magic("intern", "--model moonshotai/Kimi-K2.6:novita --budget 2 --wait", "hi")
    out = capsys.readouterr().out
    assert "budget cap covers compute only" in out and "%intern price" in out
    agent = agent_of(ip)
    assert kinds(agent.session, "usage")[-1].cost_usd is None
    ip.run_line_magic("intern", "price 1 4")
    assert "priced at $1 in / $4 out" in capsys.readouterr().out
    ip.run_cell_magic("intern", "--wait", "again")
    usage = kinds(agent.session, "usage")[-1]
    assert usage.cost_usd == pytest.approx((usage.prompt_tokens * 1 + usage.completion_tokens * 4) / 1e6)
    assert agent.session.budget.llm_spent_usd == pytest.approx(usage.cost_usd)
    ip.run_line_magic("intern", "price one two")
    assert "input price must be a number of USD (got one)" in capsys.readouterr().out


def test_model_listing_suggests_router_models_and_local_servers(ip, capsys) -> None:
    ip.run_line_magic("intern", "model")
    out = capsys.readouterr().out
    for name, _ in ROUTER_MODELS:
        assert name in out
    for prefix in ("ollama/", "vllm/", "llamacpp/", "lm_studio/", "--api-base"):
        assert prefix in out


@pytest.mark.parametrize("bad", ["ollama/", "ollama/llama 3.1"])
def test_bad_model_ids_are_refused_when_set(ip, capsys, tmp_path, bad) -> None:
    script = tmp_path / "s.json"
    script.write_text(json.dumps(["ok"]))
    ip.run_cell_magic("intern", f"--model scripted:{script} --wait", "hi")
    capsys.readouterr()
    ip.run_line_magic("intern", f"model {bad}" if " " not in bad else f"model '{bad}'")
    out = capsys.readouterr().out
    assert out.startswith("Cannot use") and agent_of(ip).session.model.name.startswith("scripted:")
