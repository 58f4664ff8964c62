"""trackio as the jobs' metrics path: every job gets TRACKIO_PROJECT (and on HF Jobs TRACKIO_SPACE_ID, with the
dashboard Space created private with trackio's app on first use); the job card links the dashboard and plots
what trackio recorded in its local store, in place of the numbers parsed from the log."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.jupyter.cards import JobCard
from mlintern_jupyter.tools import ToolsConfig
from mlintern_jupyter.tools.jobs import make_hf_jobs
from mlintern_jupyter.tools.jobs.trackio_link import DASHBOARD_FILES
from tests.fakes.fixtures import fake_hub  # noqa: F401
from tests.test_tools_support import Collector, outcome, run

TRAIN = ("import os\nimport trackio\n"
         "trackio.init(project=os.environ['TRACKIO_PROJECT'], name='run-1')\n"
         "for step in range(4):\n    trackio.log({'loss': 1.0 / (step + 1), 'eval/acc': 0.5 + step / 10})\n"
         "trackio.finish()\nprint('loss=9.0')\nprint('loss=8.0')\n")


async def _finished(col: Collector, tool, **arguments) -> str:
    text = await outcome(tool, col.ctx, **arguments)
    jobs = col.ctx.services.jobs
    for handle in list(jobs.handles.values()):  # type: ignore[union-attr]
        if handle.task is not None:
            await asyncio.wait_for(handle.task, 120)
    return text


@pytest.mark.parametrize("approved_by", ["person", None])
def test_a_local_job_logs_to_trackio_and_the_card_plots_its_store(tmp_path, approved_by) -> None:
    """Approved by a person (runs as the person) or by policy (inside the OS sandbox, which can write only the
    workspace): either way trackio's store is the workspace's, and the card plots it."""
    col = Collector(tmp_path / "ws", session_id="sess-trackio-1")
    col.ctx.approved_by = approved_by
    tool = make_hf_jobs(ToolsConfig(hf_token="", runtime="local"))
    text = run(_finished(col, tool, operation="run", script=TRAIN, timeout="10m", trackio_project="imdb-sweep"),
               timeout=180)
    store = tmp_path / "ws" / ".trackio"
    assert f"trackio project imdb-sweep (local store {store}" in text and (store / "imdb-sweep.db").is_file()
    started = [e for e in col.events if isinstance(e, ev.JobUpdated)][0]
    assert started.trackio_project == "imdb-sweep" and started.dashboard_url == ""
    metrics = [e for e in col.events if isinstance(e, ev.JobMetrics)]
    (tracked,) = [m for m in metrics if m.source == "trackio"]
    assert [p["loss"] for p in tracked.points] == [1.0, 0.5, 1.0 / 3, 0.25]
    assert [p["step"] for p in tracked.points] == [0, 1, 2, 3]
    assert any(m.source == "log" and {"loss": 9.0} in m.points for m in metrics)  # the fallback parsed the log
    card = JobCard(started)
    for event in col.events:
        card.update(event)
    assert card.from_trackio and card.metrics["loss"] == [1.0, 0.5, 1.0 / 3, 0.25]
    assert "trackio project <code>imdb-sweep</code>" in card.header.value


def test_a_job_without_a_project_gets_the_sessions(tmp_path) -> None:
    col = Collector(tmp_path / "ws", session_id="abcdef123456")
    col.ctx.approved_by = "person"
    tool = make_hf_jobs(ToolsConfig(hf_token="", runtime="local"))
    run(_finished(col, tool, operation="run", command="echo $TRACKIO_PROJECT", timeout="1m"))
    assert "mlintern-abcdef12" in col.text()
    bad = run(outcome(tool, dataclasses.replace(col.ctx, call_id="call_2"), operation="run", command="true",
                      trackio_project="../../etc"))
    assert "is not a plain name" in bad


def test_hf_jobs_get_the_dashboard_space_created_private_on_first_use(tmp_path, fake_hub) -> None:  # noqa: F811
    col = Collector(tmp_path / "ws")
    tool = make_hf_jobs(ToolsConfig(hf_endpoint=fake_hub.url, hf_token=fake_hub.token, runtime="hf"))
    script = "from transformers import TrainingArguments\nTrainingArguments('o', report_to='trackio')\n"
    first = run(outcome(tool, col.ctx, operation="run", script=script, hardware_flavor="t4-small", timeout="3h"))
    space_id = f"{fake_hub.user}/mlintern-trackio"
    assert f"Created the private trackio dashboard Space {space_id}" in first
    space = fake_hub.repo(space_id, "space")
    assert space.private and space.sdk == "gradio"
    assert {p: space.read(p).decode() for p in DASHBOARD_FILES} == DASHBOARD_FILES
    job = list(fake_hub.jobs.values())[0]
    assert job.spec["environment"]["TRACKIO_SPACE_ID"] == space_id
    assert job.spec["environment"]["TRACKIO_PROJECT"] == "mlintern-sess_tes"
    url = f"{fake_hub.url}/spaces/{space_id}"
    assert f"dashboard {url}" in first
    updated = [e for e in col.events if isinstance(e, ev.JobUpdated)][0]
    assert updated.dashboard_url == url
    # A second job finds the Space; a script without trackio creates none; a named Space is used as given.
    again = run(outcome(tool, dataclasses.replace(col.ctx, call_id="call_2"), operation="run",
                        script=script, hardware_flavor="t4-small", timeout="3h"))
    assert "Created the private" not in again
    other = run(outcome(tool, dataclasses.replace(col.ctx, call_id="call_3"), operation="run",
                        script="print(1)", timeout="10m", trackio_space_id=f"{fake_hub.user}/elsewhere"))
    assert "Created" not in other and ("space", f"{fake_hub.user}/elsewhere") not in fake_hub.repos


def test_the_card_links_an_https_dashboard_only() -> None:
    base = {"call_id": "c", "job_id": "j", "status": "RUNNING", "runtime": "hf", "trackio_project": "p"}
    linked = JobCard(ev.JobUpdated(**base, dashboard_url="https://huggingface.co/spaces/me/mlintern-trackio"))
    assert 'href="https://huggingface.co/spaces/me/mlintern-trackio"' in linked.header.value
    odd = JobCard(ev.JobUpdated(**base, dashboard_url="javascript:alert(1)"))
    assert "href" not in odd.header.value and "trackio project <code>p</code>" in odd.header.value


def test_the_card_says_approving_creates_the_dashboard_space(tmp_path, fake_hub) -> None:  # noqa: F811
    from tests.test_prelaunch import _session
    from tests.test_tools_support import call, of_kind

    script = "import trackio\ntrackio.init(project='x')\n"
    session = _session(tmp_path, fake_hub, [
        call("hf_jobs", {"operation": "run", "script": script, "timeout": "10m"}, "c1"),
        call("hf_jobs", {"operation": "run", "script": script, "timeout": "10m"}, "c2"),
        "done"])
    asyncio.run(asyncio.wait_for(session.run_turn("log"), 60))
    first, second = of_kind(session, ev.ApprovalRequested)
    space_id = f"{fake_hub.user}/mlintern-trackio"
    assert f"approving also creates the private trackio dashboard Space {space_id} (first use)" in first.checks
    assert not any("trackio" in c for c in second.checks)  # the first launch created it
