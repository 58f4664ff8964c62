"""Attack 7 of SECURITY.md, budget holes, each performed through the real loop against the loopback Hub.

- A flavour the Hub prices but the built-in table lacks used to settle at $0: three $4 jobs ran under a $5 cap.
  Settlement now uses the estimator that priced the reservation; an unknown price charges the worst case.
- A person-approved action nobody can price is recorded (never $0) and holds `auto` back while it runs.
- `sandbox_create` is priced (hardware x a capped lifetime), reserved, paused at the end of its lifetime and settled
  then or on delete; `sleep_time` and the lifetime are capped before any card. Its Space gets the HF token only
  by a person's approval or the opt-in, and only then do commands there see it.
"""

# ruff: noqa: F811

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.budget import cost_estimator_for
from mlintern_jupyter.agent.models import FunctionModel
from mlintern_jupyter.agent.policy import PolicyConfig
from mlintern_jupyter.agent.session import Session
from mlintern_jupyter.agent.tooling import SessionServices
from mlintern_jupyter.tools import ToolRegistry, ToolsConfig
from mlintern_jupyter.tools.hub_repos import make_hub_repo_tools
from mlintern_jupyter.tools.jobs import JobManager, make_hf_jobs
from mlintern_jupyter.tools.sandbox_remote import make_sandbox_create
from tests.fakes.fixtures import fake_hub  # noqa: F401
from tests.helpers import call
from tests.test_security_approvals import batches, with_person
from tests.test_tools_support import of_kind, results, run, scripted_session

NEW_FLAVOR = "b300-fake"  # listed and priced by the Hub, absent from the built-in table


def hub_session(tmp_path: Path, hub: Any, script: list[Any], *, approve: str, cap: float,
                estimator: Any = None, policy: PolicyConfig | None = None) -> Session:
    config = ToolsConfig(hf_endpoint=hub.url, hf_token=hub.token, runtime="hf")
    tools = ToolRegistry([make_hf_jobs(config), make_sandbox_create(config), *make_hub_repo_tools(config)])
    estimator = estimator or cost_estimator_for(HfApi(endpoint=hub.url, token=hub.token))
    return scripted_session(tmp_path, tools, script, approve=approve, budget=cap,
                            services=SessionServices(cost_estimator=estimator), policy=policy)


def job(call_id: str, flavor: str = NEW_FLAVOR, timeout: str = "1h") -> dict[str, Any]:
    return call("hf_jobs", {"operation": "run", "command": ["python", "train.py"], "hardware_flavor": flavor,
                            "timeout": timeout}, call_id)


async def settle_all(session: Session) -> None:
    manager = session.services.jobs
    if isinstance(manager, JobManager):
        for handle in list(manager.handles.values()):
            await manager.wait(handle.job_id, timeout=30)


def turns(*batches_: list[dict[str, Any]]) -> list[Any]:
    """One model turn per batch: its calls, then a text answer that ends the turn."""
    return [item for batch in batches_ for item in ({"tool_calls": batch}, "ok")]


def billed(hub: Any) -> float:
    return sum(hub.billed_usd(job_id) for job_id in hub.jobs)


def test_attack7_three_4_dollar_jobs_of_a_flavour_the_table_lacks_stay_under_a_5_dollar_cap(tmp_path: Path,
                                                                                             fake_hub) -> None:
    fake_hub.add_hardware(NEW_FLAVOR, per_hour=4.0, gpu=("B300", 1, "192 GB"))
    script = turns([job("j1")], [job("j2")], [job("j3")])
    session = hub_session(tmp_path, fake_hub, script, approve="auto", cap=5.0)
    session.allow_hf_token_jobs()

    async def scenario() -> None:
        for turn in range(3):
            fake_hub.next_job(["trained"], ran_for=3600)  # each one bills an hour before it ends
            await session.run_turn(f"train run {turn}")
            await settle_all(session)

    run(scenario(), timeout=120)
    assert len(fake_hub.jobs) == 1, "a job past the cap was launched"
    (settled,) = of_kind(session, ev.ComputeSettled)
    assert settled.cost_usd == pytest.approx(4.0, abs=0.05)  # the Hub's price, not $0
    decisions = [(e.call_id, e.decision) for e in of_kind(session, ev.ApprovalResolved)]
    assert decisions == [("j1", "approved"), ("j2", "denied"), ("j3", "denied")]
    assert billed(fake_hub) <= session.budget.cap_usd + 0.05
    assert session.budget.compute_spent_usd == pytest.approx(billed(fake_hub), abs=0.05)


def test_attack7_spending_that_needs_no_card_is_reserved_too(tmp_path: Path, fake_hub) -> None:
    """CPU jobs with confirm_cpu_jobs off run without a card, but each reserves its worst case first: of two
    running $0.03 jobs under a $0.05 cap, only one starts."""
    script = turns([job("cpu1", "cpu-upgrade"), job("cpu2", "cpu-upgrade")])
    session = hub_session(tmp_path, fake_hub, script, approve="auto", cap=0.05,
                          policy=PolicyConfig(confirm_cpu_jobs=False))
    session.allow_hf_token_jobs()
    for _ in range(2):
        fake_hub.next_job(["working"], hold=True)

    async def scenario() -> int:
        await session.run_turn("two cpu jobs")
        started = len(fake_hub.jobs)
        fake_hub.clear_job_queue()
        for job_id in list(fake_hub.jobs):
            fake_hub.finish_job(job_id)
        await settle_all(session)
        return started

    assert run(scenario(), timeout=90) == 1
    assert [e.call_id for e in of_kind(session, ev.ComputeReserved)] == ["cpu1"]
    assert "cpu1" not in [e.call_id for e in of_kind(session, ev.ApprovalRequested)]
    assert not {r.call_id: r for r in results(session)}["cpu2"].ok


def test_attack7_a_job_whose_price_is_unknown_when_it_ends_is_charged_its_reservation(tmp_path: Path,
                                                                                      fake_hub) -> None:
    """A restarted kernel finds the job by its Hub labels alone (no record of its price): the reserved worst case
    is charged, never $0."""
    fake_hub.add_hardware(NEW_FLAVOR, per_hour=4.0)
    fake_hub.next_job(["step"], hold=True)
    session = hub_session(tmp_path, fake_hub, batches([job("j1", timeout="30m")]), approve="auto", cap=10.0)
    session.allow_hf_token_jobs()

    async def scenario() -> JobManager:
        await session.run_turn("train")
        first = session.services.jobs
        assert isinstance(first, JobManager)
        await first.close()
        for record in first.jobs_dir.glob("*.json"):
            record.unlink()
        again = JobManager(jobs_dir=first.jobs_dir, emit=session.emit, ledger=session, endpoint=fake_hub.url,
                           token=fake_hub.token)
        handle = await again.find_existing(session.id, "j1")
        assert handle is not None and handle.price_per_hour is None
        fake_hub.finish_job(handle.job_id)
        await again.wait(handle.job_id, timeout=30)
        return again

    run(scenario(), timeout=60)
    (settled,) = of_kind(session, ev.ComputeSettled)
    assert settled.cost_usd == pytest.approx(2.0, abs=1e-3) and session.budget.reservations == {}
    assert session.budget.compute_spent_usd == pytest.approx(2.0, abs=1e-3)


def test_attack7_a_person_approved_job_of_unknown_cost_is_recorded_and_holds_auto_back(tmp_path: Path,
                                                                                       fake_hub) -> None:
    def estimator(spec: Any) -> float | None:  # nobody knows what an a100-large costs here; a t4 is priced
        return None if spec.hardware_flavor == "a100-large" else round(0.4 * (spec.timeout_s or 0) / 3600, 6)

    fake_hub.next_job(["epoch 1"], hold=True)
    script = turns([job("unpriced", "a100-large")], [job("priced", "t4-small")], [job("later", "t4-small")])
    session = hub_session(tmp_path, fake_hub, script, approve="ask", cap=5.0, estimator=estimator)

    async def scenario() -> None:
        await with_person(session, "train big", lambda record: {"decision": "approve"})
        assert session.budget.unpriced == {"unpriced": session.budget.unpriced["unpriced"]}
        session.set_approve_mode("auto")
        session.allow_hf_token_jobs()
        await session.run_turn("a small one too")  # refused: what is left of the budget is unknown
        fake_hub.finish_job(fake_hub.last_job.id)
        await settle_all(session)
        await session.run_turn("now the small one")

    run(scenario(), timeout=60)
    (unpriced,) = of_kind(session, ev.ComputeUnpriced)
    assert unpriced.call_id == "unpriced" and "a100-large" in unpriced.reason
    by_call = {r.call_id: r for r in results(session)}
    assert by_call["unpriced"].ok and not by_call["priced"].ok and by_call["later"].ok
    assert "an approved action of unknown cost is still running" in by_call["priced"].content
    settled = [e for e in of_kind(session, ev.ComputeSettled) if e.call_id == "unpriced"]
    assert settled[0].cost_usd is None and session.budget.unpriced_settled == 1
    assert session.budget.unpriced == {}


# ---- sandbox_create ---------------------------------------------------------------------------------------------


def sandbox(call_id: str, **arguments: Any) -> dict[str, Any]:
    return call("sandbox_create", {"hardware_flavor": "a100-large", "wait_s": 5, **arguments}, call_id)


def spaces(hub: Any) -> list[Any]:
    return [r for (kind, _), r in hub.repos.items() if kind == "space"]


@pytest.mark.parametrize(("arguments", "why"), [({"sleep_time": 7 * 24 * 3600}, "sleep_time must be"),
                                                ({"timeout": "7d"}, "maximum lifetime")])
def test_attack7_a_week_long_sandbox_is_refused_before_any_card(tmp_path: Path, fake_hub, arguments: dict,
                                                                 why: str) -> None:
    session = hub_session(tmp_path, fake_hub, batches([sandbox("sb", **arguments)]), approve="auto", cap=100.0)
    session.allow_hf_token_jobs()
    run(session.run_turn("get a GPU"))
    (result,) = results(session)
    assert not result.ok and why in result.content
    assert not of_kind(session, ev.ApprovalRequested) and spaces(fake_hub) == []


def test_attack7_a_sandbox_is_reserved_at_hardware_x_lifetime_and_even_a_person_cannot_pass_the_cap(
        tmp_path: Path, fake_hub) -> None:
    session = hub_session(tmp_path, fake_hub, batches([sandbox("sb", timeout="2h")]), approve="ask", cap=4.0)
    run(with_person(session, "get a GPU", lambda record: {"decision": "approve"}))
    (card,) = of_kind(session, ev.ApprovalRequested)
    assert card.cost_usd == pytest.approx(5.0, abs=1e-3)  # $2.50/h x 2 h
    (result,) = results(session)
    assert result.status == "denied" and "does not fit" in result.content and spaces(fake_hub) == []


def test_attack7_a_sandbox_is_settled_when_deleted_and_gets_the_token_by_a_persons_approval(tmp_path: Path,
                                                                                            fake_hub) -> None:
    session = hub_session(tmp_path, fake_hub, [], approve="ask", cap=10.0)
    # The model deletes the Space it got (its name is random, so the call is written when it is made).
    steps = iter([lambda: {"tool_calls": [sandbox("sb", timeout="2h")]},
                  lambda: {"tool_calls": [call("hf_repo_git", {"operation": "delete_repo", "repo_type": "space",
                                                               "repo_id": spaces(fake_hub)[0].repo_id}, "del")]},
                  lambda: "done"])
    session.model = FunctionModel(lambda *args: next(steps)())

    async def scenario() -> None:
        await with_person(session, "get a GPU, then clean up", lambda record: {"decision": "approve"})

    run(scenario(), timeout=60)
    card = of_kind(session, ev.ApprovalRequested)[0]
    assert "this job receives your HF token" in card.reason
    reserved = of_kind(session, ev.ComputeReserved)
    assert [round(e.amount_usd, 3) for e in reserved] == [5.0]
    (settled,) = of_kind(session, ev.ComputeSettled)
    assert 0 <= (settled.cost_usd or 0) < 0.05 and session.budget.reservations == {}
    assert session.services.sandbox is None and spaces(fake_hub) == []


def test_attack7_a_sandbox_is_paused_at_the_end_of_its_lifetime_and_settled(tmp_path: Path, fake_hub) -> None:
    session = hub_session(tmp_path, fake_hub, batches([sandbox("sb", timeout=1)]), approve="auto", cap=10.0)
    session.allow_hf_token_jobs()

    async def scenario() -> None:
        await session.run_turn("get a GPU")
        for _ in range(300):
            if of_kind(session, ev.ComputeSettled):
                return
            await asyncio.sleep(0.02)

    run(scenario(), timeout=30)
    (space,) = spaces(fake_hub)
    assert space.space["stage"] == "PAUSED"
    (settled,) = of_kind(session, ev.ComputeSettled)
    assert settled.cost_usd == pytest.approx(2.5 / 3600, abs=1e-4)  # one second of an A100
    assert set(space.space["secrets"]) == {"SANDBOX_TOKEN", "HF_TOKEN"}  # policy, after the opt-in


def test_attack7_without_the_opt_in_auto_asks_a_person_for_a_sandbox(tmp_path: Path, fake_hub) -> None:
    session = hub_session(tmp_path, fake_hub, batches([sandbox("sb")]), approve="auto", cap=100.0)
    session.config.person_present = False
    assert run(session.run_turn("get a GPU")).reason == "awaiting_approval"
    assert spaces(fake_hub) == [] and "this job receives your HF token" in of_kind(session, ev.ApprovalRequested)[0].reason


@pytest.mark.parametrize("shared", [True, False])
def test_the_sandbox_server_shows_commands_the_hf_token_only_when_it_was_given_deliberately(
        tmp_path: Path, shared: bool) -> None:
    token = "hf_" + "SpaceSecretToken0123456789abcd"
    env = {**os.environ, "SANDBOX_TOKEN": "bearer-0123456789", "HF_TOKEN": token, "OTHER_API_KEY": "sk-other-1",
           "SANDBOX_SHARE_HF": "1" if shared else "0", "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen([sys.executable, "-m", "mlintern_jupyter.tools.sandbox_server", "--host", "127.0.0.1",
                             "--port", "0", "--root", str(tmp_path / "root")], stdout=subprocess.PIPE, text=True,
                            env=env)
    try:
        port = int(proc.stdout.readline().split("127.0.0.1:")[1].split(",")[0])  # type: ignore[union-attr]
        out = httpx.post(f"http://127.0.0.1:{port}/exec", json={"command": "env; cat /proc/$PPID/environ"},
                         headers={"Authorization": "Bearer bearer-0123456789"}, timeout=30).json()["output"]
    finally:
        proc.terminate()
        proc.wait(5)
    assert (token in out) is shared
    assert "bearer-0123456789" not in out and "sk-other-1" not in out
