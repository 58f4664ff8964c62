"""Calls shaped like huggingface/ml-intern's (tests/ml_intern_calls.py) run here: each validates, goes through the
approval gate of a real session (a person approves every card) and executes offline against the loopback Hub,
GitHub, Semantic Scholar, search and Slack fakes; the result is what the table says. Calls from the wrong
vocabulary get a result that names the fix."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.models import FunctionModel
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.tools import ToolsConfig
from mlintern_jupyter.tools.config import SlackConfig
from tests.agent_eval.runner import notebook_tools, tools_config
from tests.agent_eval.world import seed, seed_github
from tests.fakes import FakeGitHub, FakeHub, FakeSearch
from tests.fakes.fixtures import fake_s2, fake_slack  # noqa: F401
from tests.ml_intern_calls import ML_INTERN_OPERATIONS, ML_INTERN_TOOLS, ROWS, Row
from tests.test_tools_research import ANSWER

DPO = "2305.18290"
CAPTURES = {"job_id": r"Started job (\S+)", "scheduled_job_id": r"Scheduled job (\S+) created",
            "pr_num": r"#(\d+)"}


def _fill(value: Any, found: dict[str, str]) -> Any:
    if isinstance(value, str):
        if re.fullmatch(r"\{(pr_num)\}", value):
            return int(found["pr_num"])
        return re.sub(r"\{(\w+)\}", lambda m: found.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _fill(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, found) for v in value]
    return value


def _world(hub: FakeHub, gh: FakeGitHub, s2: Any) -> None:
    seed(hub)
    seed_github(gh)
    hub.add_repo("fake-org/dpo-model", tags=[f"arxiv:{DPO}"])
    hub.add_repo("fake-org/prefs", repo_type="dataset", tags=[f"arxiv:{DPO}"])
    hub.add_collection("fake-org/alignment-1", "Alignment papers", items=[f"papers/{DPO}"], upvotes=3)
    root = s2.add_paper(DPO, "Direct Preference Optimization", year=2023, citations=4000)
    simpo = s2.add_paper("2405.14734", "SimPO: Simple Preference Optimization", citations=500)
    s2.cite(simpo, root, influential=True, context="SimPO removes the reference model of DPO")
    s2.add_snippet(simpo, "4 Experiments", "SimPO uses a learning rate of 1e-6 and beta 2.0.")


def replay(home: Path, rows: tuple[Row, ...], s2: Any, slack: Any) -> list[tuple[Row, dict[str, Any], ev.ToolResult]]:
    """Every row as one model call of one session; returns (row, the arguments sent, the result)."""
    with FakeHub(log_line_delay=0.0) as hub, FakeGitHub() as gh, FakeSearch() as search:
        _world(hub, gh, s2)
        config: ToolsConfig = dataclasses.replace(
            tools_config(hub, gh, search, home), s2_api_url=s2.url, s2_api_key=None, s2_backoff_s=0.01,
            slack=SlackConfig(bot_token=slack.bot_token, channel="#general", api_url=slack.url + "/api",
                              events=frozenset({"tool"})))
        found: dict[str, str] = {"hub": hub.url}
        sent: list[dict[str, Any]] = []
        pending = list(rows)

        async def model_fn(messages: Any, tools: Any, settings: Any) -> Any:
            if not any(t["name"] == "research" for t in tools):
                return ANSWER  # the research sub-agent
            for event in session.events:
                if isinstance(event, ev.ToolResult):
                    for key, pattern in CAPTURES.items():
                        if match := re.search(pattern, event.content):
                            found[key] = match.group(1)
            if not pending:
                return "done"
            row = pending.pop(0)
            arguments = _fill(row.arguments, found)
            sent.append(arguments)
            return {"tool_calls": [{"id": f"c{len(sent)}", "name": row.tool, "arguments": arguments}]}

        session = Session(SessionConfig(model="function", approve_mode="ask", max_iterations=len(rows) + 5),
                          notebook_tools(config), model=FunctionModel(model_fn), home=home)

        def person(event: ev.Event) -> None:
            if isinstance(event, ev.ApprovalRequested):
                asyncio.get_running_loop().call_soon(session.answer_approval, event.nonce, "approve", "")

        session.subscribe(person)
        asyncio.run(asyncio.wait_for(session.run_turn("replay ml-intern calls"), 240))
        results = [e for e in session.events if isinstance(e, ev.ToolResult)]
        session.close()
    assert len(results) == len(rows)
    return [(row, args, result) for row, args, result in zip(rows, sent, results, strict=True)]


def accepted(row: Row, arguments: dict[str, Any], result: ev.ToolResult) -> bool:
    """The call ran and its result is what the table says."""
    ids = {"job_id": arguments.get("job_id", ""), "scheduled_job_id": arguments.get("scheduled_job_id", "")}
    return result.ok and _fill(row.expect, ids) in result.content


def test_the_table_covers_every_ml_intern_tool_and_operation() -> None:
    assert {r.tool for r in ROWS} >= set(ML_INTERN_TOOLS)
    for tool, operations in ML_INTERN_OPERATIONS.items():
        assert set(operations) <= {r.operation for r in ROWS if r.tool == tool}, tool


def test_ml_intern_shaped_calls_validate_and_run(tmp_path: Path, fake_s2, fake_slack) -> None:  # noqa: F811
    replayed = replay(tmp_path, ROWS, fake_s2, fake_slack)
    failed = [f"{row.tool} {row.operation or ''}: {result.status} {result.content[:300]!r}"
              for row, args, result in replayed if not accepted(row, args, result)]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize(("tool", "arguments", "fix"), [
    ("hf_jobs", {"operation": "run", "script": "print(1)", "command": ["python", "-c", "1"]}, "not both"),
    ("hf_jobs", {"operation": "run"}, "needs `script`"),
    ("hf_jobs", {"operation": "runn", "script": "print(1)"}, "did you mean 'run'"),
    ("hf_jobs", {"operation": "run", "script": "missing.py", "timeout": "3h"}, "is not a file in the workspace"),
    ("hf_jobs", {"operation": "run", "script": "print(1)", "flavor": "t4-small"}, "did you mean `hardware_flavor`"),
    ("edit", {"path": "train.py", "old_string": "a", "new_str": "b", "new_string": "c"}, "give only `new_str`"),
    ("edit", {"path": "train.py", "old_str": "a", "new_str": "b", "mode": "insert_after"}, "'append_after'"),
    ("hf_papers", {"operation": "paper_detail", "arxiv_id": DPO}, "did you mean 'paper_details'"),
    ("read", {"file_path": "train.py"}, "did you mean `path`"),
])
def test_a_call_from_another_vocabulary_names_the_fix(tmp_path: Path, fake_s2, fake_slack, tool: str,  # noqa: F811
                                                      arguments: dict[str, Any], fix: str) -> None:
    (row, _args, result), = replay(tmp_path, (Row(tool, arguments, ""),), fake_s2, fake_slack)
    assert not result.ok and fix in result.content, result.content
