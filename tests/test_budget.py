"""Budget: Hub prices, worst-case reservations that add up within a batch, pause at the cap and resume."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.approval import classify
from mlintern_jupyter.agent.budget import Budget, cost_estimator_for
from mlintern_jupyter.agent.models import ModelResponse, ModelUsage, ScriptedModel
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.agent.tooling import SessionServices
from mlintern_jupyter.tools.registry import ToolError, ToolRegistry, tool


def spec(**args: object):
    return classify("hf_jobs", {"operation": "run", "script": "print(1)", **args})


def test_prices_come_from_the_hub_and_are_fetched_once(fake_hub) -> None:
    estimator = cost_estimator_for(HfApi(endpoint=fake_hub.url, token=fake_hub.token))
    # The Hub lists micro-dollars per minute, so hourly figures are exact to a few hundred-thousandths.
    assert estimator(spec(hardware_flavor="a10g-large", timeout="2h")) == pytest.approx(3.0, abs=1e-3)  # $1.50/h x 2 h
    assert estimator(spec(hardware_flavor="T4-Small ", timeout=1800)) == pytest.approx(0.2, abs=1e-3)  # normalised
    assert estimator(spec(hardware_flavor="h100", timeout="30m")) == pytest.approx(2.25, abs=1e-3)
    assert len(fake_hub.requests.find(route="jobs.hardware")) == 1


def test_unknown_prices_and_timeouts_are_unknown_costs(fake_hub) -> None:
    estimator = cost_estimator_for(HfApi(endpoint=fake_hub.url, token=fake_hub.token))
    assert estimator(spec(hardware_flavor="quantum-x1", timeout="1h")) is None
    assert estimator(spec(hardware_flavor="", timeout="1h")) is None
    assert estimator(spec(hardware_flavor="a10g-large")) is None  # no hard timeout: worst case unknown
    assert estimator(classify("hf_jobs", {"operation": "scheduled run", "hardware_flavor": "cpu-basic", "timeout": 60})) is None
    assert estimator(spec(hardware_flavor="a10g-large", timeout="1h", runtime="local")) == 0.0
    assert cost_estimator_for(HfApi(endpoint=fake_hub.url, token=fake_hub.token), default_timeout_s=3600)(
        spec(hardware_flavor="a10g-large")) == pytest.approx(1.5, abs=1e-3)


def test_a_failed_price_fetch_means_no_price(fake_hub) -> None:
    fake_hub.fail("jobs.hardware", 500)
    estimator = cost_estimator_for(HfApi(endpoint=fake_hub.url, token=fake_hub.token))
    assert estimator(spec(hardware_flavor="a10g-large", timeout="1h")) is None
    assert estimator.prices.error


def test_ledger_reserve_release_settle() -> None:
    b = Budget(cap_usd=10.0)
    assert b.reserve("a", 6.0) and not b.reserve("b", 5.0)  # reservations add up
    assert b.reserve("a", 6.0) and b.compute_reserved_usd == 6.0  # one reservation per call
    b.release("a")
    assert b.reserve("b", 5.0)
    b.settle("b", 1.25)
    b.add_llm(0.75)
    assert b.committed_usd == 2.0 and b.left() == 8.0
    assert not b.fits(None) and b.fits(8.0) and not b.fits(8.01)
    b.add_llm(8.0)
    assert b.exhausted


# ---- through the loop ---------------------------------------------------------------------------------------


def job_tool(log: list[str], fail: bool = False):
    @tool(name="hf_jobs")
    async def hf_jobs(operation: str, script: str = "", hardware_flavor: str = "", timeout: str = "") -> str:
        """Run a job (test double of the real tool: records what it was asked to launch)."""
        if fail:
            raise ToolError("the Hub refused the job")
        log.append(f"{operation} {hardware_flavor}")
        return "launched job-1"

    return hf_jobs


def launch(i: int, flavor: str = "a10g-large", timeout: str = "2h") -> dict:
    return {"id": f"job{i}", "name": "hf_jobs",
            "arguments": {"operation": "run", "script": f"print({i})", "hardware_flavor": flavor, "timeout": timeout}}


def auto_session(tmp_path: Path, fake_hub, model: ScriptedModel, cap: float, log: list[str], fail: bool = False) -> Session:
    session = Session(SessionConfig(approve_mode="auto", budget_usd=cap), ToolRegistry([job_tool(log, fail)]),
                      model=model, home=tmp_path, services=SessionServices(
                          cost_estimator=cost_estimator_for(HfApi(endpoint=fake_hub.url, token=fake_hub.token))))
    session.allow_hf_token_jobs()  # HF jobs receive the token: policy approves them only after the opt-in
    return session


def test_two_jobs_of_one_batch_cannot_jointly_pass_the_cap(tmp_path: Path, fake_hub) -> None:
    log: list[str] = []
    model = ScriptedModel([{"tool_calls": [launch(1), launch(2)]}, "done"])
    session = auto_session(tmp_path, fake_hub, model, cap=5.0, log=log)
    asyncio.run(session.run_turn("train twice"))
    assert log == ["run a10g-large"]  # $3 + $3 > $5: only the first runs
    results = {e.call_id: e for e in session.events if isinstance(e, ev.ToolResult)}
    assert results["job1"].ok and not results["job2"].ok
    assert list(session.budget.reservations) == ["job1"]
    requested = [e for e in session.events if isinstance(e, ev.ApprovalRequested)]
    assert [round(e.cost_usd or 0, 2) for e in requested] == [3.0, 3.0]


def test_auto_never_approves_an_unknown_price(tmp_path: Path, fake_hub) -> None:
    log: list[str] = []
    model = ScriptedModel([{"tool_calls": [launch(1, flavor="mystery-gpu")]}, "done"])
    session = auto_session(tmp_path, fake_hub, model, cap=100.0, log=log)
    asyncio.run(session.run_turn("train"))
    assert log == []
    resolved = [e for e in session.events if isinstance(e, ev.ApprovalResolved)]
    assert resolved[0].decision == "denied" and "cost unknown in advance" in resolved[0].feedback


def test_a_job_that_fails_to_start_releases_its_reservation(tmp_path: Path, fake_hub) -> None:
    model = ScriptedModel([{"tool_calls": [launch(1)]}, "done"])
    session = auto_session(tmp_path, fake_hub, model, cap=10.0, log=[], fail=True)
    asyncio.run(session.run_turn("train"))
    assert session.budget.reservations == {}


def test_the_turn_pauses_at_the_cap_and_a_raised_cap_continues(tmp_path: Path) -> None:
    costly = ModelResponse(text="thinking", usage=ModelUsage(prompt_tokens=10, completion_tokens=5, cost_usd=0.6))

    @tool(read_only=True)
    async def read(path: str) -> str:
        """Read."""
        return f"content of {path}"

    step = [ModelResponse(tool_calls=(ToolCallPartish(i),), usage=costly.usage) for i in range(4)]
    model = ScriptedModel([step[0], step[1], "done", "done again"])
    session = Session(SessionConfig(budget_usd=1.0), ToolRegistry([read]), model=model, home=tmp_path)
    ended = asyncio.run(session.run_turn("read files"))
    assert ended.reason == "budget"
    assert any(isinstance(e, ev.BudgetUpdated) and e.cap_usd == 1.0 for e in session.events)
    assert model.calls == 2
    session.set_budget(5.0)
    ended = asyncio.run(session.run_turn("go on"))
    assert ended.reason == "done" and model.calls == 3


def ToolCallPartish(i: int):  # noqa: N802 - reads like the type it builds
    from mlintern_jupyter.agent.messages import ToolCallPart

    return ToolCallPart(f"r{i}", "read", f'{{"path": "f{i}"}}')
