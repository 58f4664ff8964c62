"""Run one evaluation task: a real Session with the notebook's tools and system prompt, against the loopback Hub,
GitHub and search fakes, with a scripted person answering approvals; then grade its event log."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.models import Model
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.agent.session_context import KernelSummary, SessionFacts, build_session_context, system_prompt
from mlintern_jupyter.evaluation.graders import RULES, Verdict, parse
from mlintern_jupyter.jupyter.cells import insert_cell_tool
from mlintern_jupyter.jupyter.kernel_context import KernelContext
from mlintern_jupyter.tools import ToolsConfig, default_tools
from mlintern_jupyter.tools.hub_account import HubAccount
from tests.agent_eval.tasks import EvalTask
from tests.agent_eval.world import publish_pushed_repos, seed, seed_github
from tests.fakes import FakeGitHub, FakeHub, FakeSearch

GITHUB_TOKEN = "ghp_" + "e" * 36  # the fake GitHub wants a token for code search; it is no real credential


@dataclass
class TaskRun:
    task: EvalTask
    verdicts: list[Verdict]
    checks: list[tuple[str, bool]]
    end: str
    llm_cost_usd: float
    compute_cost_usd: float
    model_calls: int
    events: list[dict[str, Any]]


def tools_config(hub: FakeHub, gh: FakeGitHub, search: FakeSearch, home: Path) -> ToolsConfig:
    return ToolsConfig(hf_endpoint=hub.url, hf_token=hub.token, datasets_server_url=hub.url,
                       arxiv_html_url=hub.url + "/arxiv/html", github_api_url=gh.url, github_token=GITHUB_TOKEN,
                       search_url=search.url + "/html/", runtime="hf", home=home)


def notebook_tools(config: ToolsConfig) -> Any:
    """The tools a notebook session has: the built-ins, the cell inserter and the kernel tools (empty kernel)."""
    registry = default_tools(config)
    for item in (insert_cell_tool(), *KernelContext(SimpleNamespace(user_ns={})).tools()):
        registry.register(item)
    return registry


def person(session: Session, task: EvalTask) -> Any:
    """Answers each approval card as the task's person would, on the agent's loop (as a click would arrive)."""
    def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.ApprovalRequested):
            feedback = task.approver(dict(event.action))
            decision = "deny" if feedback else "approve"
            asyncio.get_running_loop().call_soon(session.answer_approval, event.nonce, decision, feedback or "")
    return on_event


async def _publish(hub: FakeHub) -> None:
    while True:
        with hub.lock:
            publish_pushed_repos(hub)
        await asyncio.sleep(0.1)


async def run_task(task: EvalTask, model: Model, home: Path, *, max_iterations: int = 40) -> TaskRun:
    with FakeHub(log_line_delay=0.02) as hub, FakeGitHub() as gh, FakeSearch() as search:
        seed(hub)
        seed_github(gh)
        if task.setup is not None:
            task.setup(hub)
        config = tools_config(hub, gh, search, home)
        tools = notebook_tools(config)
        account = await asyncio.to_thread(HubAccount().facts, config)
        facts = SessionFacts(now=datetime.now().astimezone(), runtime="hf", tool_count=len(tools),
                             has_token=True, hf_user=account.user, hf_orgs=account.orgs, hardware=account.hardware,
                             hardware_source=account.hardware_source, notebook=f"eval_{task.id}.ipynb",
                             kernel=KernelSummary(python="3.11", cells_run=0), local_cpus=os.cpu_count())
        from huggingface_hub import HfApi

        from mlintern_jupyter.agent.budget import cost_estimator_for
        from mlintern_jupyter.agent.tooling import SessionServices

        session = Session(
            SessionConfig(model=model.name, approve_mode="ask", budget_usd=task.expect.budget_usd,
                          max_iterations=max_iterations, system_prompt=system_prompt(build_session_context(facts))),
            tools, model=model, home=home,
            services=SessionServices(cost_estimator=cost_estimator_for(HfApi(endpoint=hub.url, token=hub.token), 1800)))
        session.subscribe(person(session, task))
        publisher = asyncio.create_task(_publish(hub))
        try:
            end = await session.run_turn(task.prompt)
        finally:
            publisher.cancel()
            jobs = session.services.jobs
            if jobs is not None:
                await jobs.close()
            session.close()
    events = [dataclasses.asdict(e) for e in session.events]
    trajectory = parse(events)
    return TaskRun(task=task, verdicts=[rule(trajectory, task.expect) for rule in RULES],
                   checks=[(name, bool(check(trajectory))) for name, check in task.checks], end=end.reason,
                   llm_cost_usd=trajectory.llm_cost_usd, compute_cost_usd=trajectory.compute_cost_usd,
                   model_calls=sum(1 for e in events if e["kind"] == "assistant_message"), events=events)
