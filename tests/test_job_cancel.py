"""Cancel on the job card stops the job (issue 11 attack 10): the click sends CancelJob to the dispatcher, which
cancels through the session. A real IPython shell, Button.click(), a real local process group and an HF job on the
loopback fake Hub (which records the cancel). A failed cancel is told on the card and in the log, never swallowed.
"""

# ruff: noqa: F811

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mlintern_jupyter.tools.config import ToolsConfig
from tests.fakes.fixtures import fake_hub  # noqa: F401

from .test_jupyter_magic import agent_of, ip  # noqa: F401 - the real-shell fixture, used by name


def until(condition, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Members may be zombies a moment longer; /proc tells a running member from a dead one.
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def launch(ip, tmp_path: Path, arguments: dict, flags: str) -> None:
    model = tmp_path / "model.json"
    model.write_text(json.dumps([{"text": "launching", "tool_calls": [{"name": "hf_jobs", "arguments": arguments}]},
                                 "It runs; I will check on it."]))
    ip.run_cell_magic("intern", f"--model scripted:{model} {flags}", "run the job")


def statuses(agent, job_id: str) -> list[str]:
    return [e.status for e in agent.session.events if e.kind == "job_updated" and e.job_id == job_id]


def test_cancel_on_the_card_kills_the_local_process_group(ip, tmp_path) -> None:
    agent = agent_of(ip)
    agent.tools_config = ToolsConfig(hf_token="", runtime="auto")
    launch(ip, tmp_path, {"operation": "run", "command": ["bash", "-c", "sleep 120 & sleep 120; wait"],
                          "runtime": "local", "timeout": "10m"}, "--approve auto --wait")
    (card,) = agent.view.jobs.values()
    handle = agent.session.services.jobs.handles[card.job_id]
    pgid = handle.process.pid
    until(lambda: group_alive(pgid), what="the job's processes")
    assert not card.cancel_button.disabled
    card.cancel_button.click()
    until(lambda: "CANCELED" in statuses(agent, card.job_id), what="job_updated CANCELED")
    until(lambda: not group_alive(pgid), timeout=10, what="the process group to be gone")
    kinds = [e.kind for e in agent.session.events]
    assert kinds.index("job_cancel_requested") < len(kinds) - 1 - kinds[::-1].index("job_updated")
    assert card.cancel_button.disabled and "canceled" in card.cancel_button.description.lower()
    assert "Cancelling job" in card.cancel_status.value


def test_cancel_on_the_card_cancels_the_hf_job_on_the_hub(ip, tmp_path, fake_hub) -> None:
    agent = agent_of(ip)
    agent.tools_config = ToolsConfig(hf_endpoint=fake_hub.url, hf_token=fake_hub.token, runtime="auto")
    fake_hub.next_job(["loading", "step 1 loss=0.5"], hold=True)  # keeps RUNNING (and billing) until cancelled
    launch(ip, tmp_path, {"operation": "run", "command": ["python", "-c", "print(1)"], "hardware_flavor": "cpu-basic",
                          "timeout": "10m"}, "--budget 5")
    until(lambda: agent.view is not None and agent.view.approvals, what="the approval card")
    (approval,) = agent.view.approvals.values()
    approval.approve_button.click()
    until(lambda: agent.view.jobs, what="the job card")
    (card,) = agent.view.jobs.values()
    until(lambda: "RUNNING" in statuses(agent, card.job_id), what="the job to run")
    assert fake_hub.last_job.stage() == "RUNNING"
    card.cancel_button.click()
    until(lambda: fake_hub.requests.find(route="jobs.cancel"), what="the Hub's cancel request")
    until(lambda: "CANCELED" in statuses(agent, card.job_id), what="job_updated CANCELED")
    (cancel,) = fake_hub.requests.find(route="jobs.cancel")
    assert cancel.path.endswith(f"/{card.job_id}/cancel")
    assert fake_hub.last_job.stage() == "CANCELED"


def test_a_cancel_that_fails_is_told_not_swallowed(ip, tmp_path, fake_hub) -> None:
    agent = agent_of(ip)
    agent.tools_config = ToolsConfig(hf_endpoint=fake_hub.url, hf_token=fake_hub.token, runtime="auto")
    fake_hub.next_job(["loading"], hold=True)
    launch(ip, tmp_path, {"operation": "run", "command": ["python", "-c", "print(1)"], "hardware_flavor": "cpu-basic",
                          "timeout": "10m"}, "--budget 5")
    until(lambda: agent.view is not None and agent.view.approvals, what="the approval card")
    next(iter(agent.view.approvals.values())).approve_button.click()
    until(lambda: agent.view.jobs, what="the job card")
    (card,) = agent.view.jobs.values()
    fake_hub.fail("jobs.cancel", 500)
    card.cancel_button.click()
    until(lambda: any(e.kind == "notice" and "was not cancelled" in e.message for e in agent.session.events),
          what="a notice saying the cancel failed")
    fake_hub.finish_job(card.job_id)
