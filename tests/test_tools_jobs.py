"""hf_jobs: the local runtime (the quickstart default) and HF Jobs on the fake Hub, through sessions and the gate."""

# ruff: noqa: F811

from __future__ import annotations

import asyncio
import json
import os
import time

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.tooling import SessionServices
from mlintern_jupyter.tools.config import ToolsConfig
from mlintern_jupyter.tools.jobs import JobManager, make_hf_jobs
from mlintern_jupyter.tools.jobs.local import pid_alive
from tests.fakes.fixtures import fake_hub  # noqa: F401
from tests.test_tools_support import Collector, call, of_kind, outcome, results, run, run_tool, scripted_session

LOCAL = ToolsConfig(hf_token="", runtime="auto")

TRAIN = """
import sys
for step in range(1, 6):
    print(f"step {step}")
print('{"metric": "loss", "value": 0.125, "step": 5}')
print("warning on stderr", file=sys.stderr)
"""


def _jobs(session) -> JobManager:
    return session.services.jobs


def test_no_token_defaults_to_local_runtime_and_auto_approves_it(tmp_path):
    tool = make_hf_jobs(LOCAL)
    assert tool.parameters["properties"]["runtime"]["default"] == "local"
    script = [call("hf_jobs", {"operation": "uv", "script": TRAIN}), "launched"]
    session = scripted_session(tmp_path, [tool], script, approve="auto", budget=1.0)

    async def go():
        ended = await session.run_turn("train it")
        manager = _jobs(session)
        (handle,) = manager.handles.values()
        await manager.wait(handle.job_id, timeout=30)
        return ended, handle

    ended, handle = run(go())
    assert ended.reason == "done"
    requested = of_kind(session, ev.ApprovalRequested)[0]
    assert requested.action["runtime"] == "local" and requested.cost_usd == 0.0
    (result,) = results(session)
    assert result.ok and handle.job_id in result.content and "Started job" in result.content
    streamed = "".join(e.text for e in of_kind(session, ev.ToolOutput) if e.job_id == handle.job_id)
    assert "step 1\n" in streamed and "warning on stderr" in streamed
    # metrics lines pass through unchanged
    assert '{"metric": "loss", "value": 0.125, "step": 5}\n' in streamed
    updates = [e for e in of_kind(session, ev.JobUpdated) if e.job_id == handle.job_id]
    assert updates[0].status == "RUNNING" and updates[-1].status == "COMPLETED" and updates[-1].runtime == "local"
    assert handle.exit_code == 0
    # the script was kept in the session's scripts/ folder
    assert list(session.scripts_dir.glob("job_*.py"))


def test_local_job_failure_timeout_and_logs(tmp_path):
    tool = make_hf_jobs(LOCAL)
    col = Collector(tmp_path / "ws")

    async def go():
        failed = await run_tool(tool, col.ctx, operation="run", command="echo boom; exit 3")
        manager = col.ctx.services.jobs
        fail_id = next(iter(manager.handles))
        await manager.wait(fail_id, timeout=20)
        col.ctx.call_id = "call_2"
        await run_tool(tool, col.ctx, operation="run", command=["sleep", "30"], timeout=1)
        slow_id = [j for j in manager.handles if j != fail_id][0]
        await manager.wait(slow_id, timeout=20)
        col.ctx.call_id = "call_3"
        await run_tool(tool, col.ctx, operation="run",
                       command=["python3", "-c", "for i in range(1000): print(f'line {i} loss={i/1000}')"])
        many_id = [j for j in manager.handles if j not in (fail_id, slow_id)][0]
        await manager.wait(many_id, timeout=20)
        tail = await run_tool(tool, col.ctx, operation="logs", job_id=many_id, tail=3)
        grep = await run_tool(tool, col.ctx, operation="logs", job_id=many_id, grep=r"line 99\d ")
        inspect = await run_tool(tool, col.ctx, operation="inspect", job_id=fail_id)
        return manager, fail_id, slow_id, failed, tail, grep, inspect

    manager, fail_id, slow_id, failed, tail, grep, inspect = run(go())
    assert failed.ok
    assert manager.handles[fail_id].status == "ERROR" and manager.handles[fail_id].exit_code == 3
    assert json.loads(inspect.content)["exit_code"] == 3
    assert manager.handles[slow_id].status == "TIMEOUT"
    assert tail.content.splitlines()[1:] == ["line 997 loss=0.997", "line 998 loss=0.998", "line 999 loss=0.999"]
    assert "1000 lines in the log" in tail.content
    assert grep.content.count("\n") == 10 and "line 995 " in grep.content
    final = [e for e in col.events if isinstance(e, ev.JobUpdated) and e.job_id == slow_id][-1]
    assert final.status == "TIMEOUT" and "hard timeout" in final.message


def test_cancel_kills_the_process_group(tmp_path):
    tool = make_hf_jobs(LOCAL)
    col = Collector(tmp_path / "ws")
    # Approved by a person: unsandboxed, so the pids the child prints are this machine's (the sandboxed kill is
    # tested in test_security_sandbox.py).
    col.ctx.approved_by = "person"

    async def go():
        await run_tool(tool, col.ctx, operation="run",
                       command="sleep 60 & echo child $!; sleep 60")
        manager = col.ctx.services.jobs
        (handle,) = manager.handles.values()
        for _ in range(100):
            if "child" in col.text():
                break
            await asyncio.sleep(0.05)
        child = int(col.text().split("child ")[1].split()[0])
        assert pid_alive(child)
        started = time.monotonic()
        cancelled = await run_tool(tool, col.ctx, operation="cancel", job_id=handle.job_id)
        return handle, child, cancelled, time.monotonic() - started

    handle, child, cancelled, took = run(go())
    assert handle.status == "CANCELED" and "CANCELED" in cancelled.content and took < 5
    time.sleep(0.2)
    assert not pid_alive(child)


def test_resumed_session_reattaches_instead_of_relaunching(tmp_path):
    tool = make_hf_jobs(LOCAL)
    col = Collector(tmp_path / "ws")

    async def first():
        await run_tool(tool, col.ctx, operation="run", command="echo one; sleep 1.5; echo two")
        manager = col.ctx.services.jobs
        (handle,) = manager.handles.values()
        await manager.close()  # the kernel goes away; the process keeps running
        return handle

    async def second():
        again = Collector(tmp_path / "ws")  # a new manager: only the files on disk remain
        result = await run_tool(tool, again.ctx, operation="run", command="echo one; sleep 1.5; echo two")
        manager = again.ctx.services.jobs
        (handle,) = manager.handles.values()
        await manager.wait(handle.job_id, timeout=20)
        return result, handle, again

    original = run(first())
    result, handle, again = run(second())
    assert handle.job_id == original.job_id and "Re-attached" in result.content and "No new job" in result.content
    assert handle.status == "COMPLETED" and handle.exit_code == 0
    assert "two" in again.text(handle.job_id)
    assert len(list((tmp_path / "jobs").glob("*.log"))) == 1


def test_hardware_lists_prices_offline(tmp_path):
    col = Collector(tmp_path / "ws")
    out = run(run_tool(make_hf_jobs(LOCAL), col.ctx, operation="hardware"))
    assert "a10g-large | 1.5" in out.content and "h100 | 4.5" in out.content


# --- HF Jobs on the fake Hub ------------------------------------------------------------------------------------

def _hf(fake_hub) -> ToolsConfig:
    return ToolsConfig(hf_endpoint=fake_hub.url, hf_token=fake_hub.token, runtime="auto")


def test_hf_run_through_the_gate_with_budget_streams_logs_and_keeps_token_secret(tmp_path, fake_hub):
    fake_hub.next_job(["loading", "step 1 loss=0.5", "step 2 loss=0.25", "done"])
    tool = make_hf_jobs(_hf(fake_hub))
    assert tool.parameters["properties"]["runtime"]["default"] == "hf"
    args = {"operation": "run", "image": "python:3.12", "command": ["python", "train.py"],
            "hardware_flavor": "a10g-small", "timeout": "1h", "env": {"EPOCHS": "1"}}
    session = scripted_session(tmp_path, [tool], [call("hf_jobs", args), "ok"], approve="auto", budget=5.0,
                               services=SessionServices(cost_estimator=lambda spec: 1.0 * (spec.timeout_s or 0) / 3600))
    session.allow_hf_token_jobs()  # policy approves a job that receives the token only after the opt-in

    async def go():
        await session.run_turn("train on a GPU")
        manager = _jobs(session)
        (handle,) = manager.handles.values()
        await manager.wait(handle.job_id, timeout=30)
        return handle

    handle = run(go())
    spec = fake_hub.last_job.spec
    assert fake_hub.token not in json.dumps(spec["command"]) + json.dumps(spec.get("environment"))
    assert spec["secrets"] == {"HF_TOKEN": fake_hub.token}
    assert {"mlintern-session": session.id, "mlintern-call": "call_1"}.items() <= spec["labels"].items()
    assert spec["flavor"] == "a10g-small" and spec["timeoutSeconds"] == 3600
    events = session.events
    requested = of_kind(session, ev.ApprovalRequested)[0]
    assert requested.cost_usd == 1.0 and requested.action["hardware_flavor"] == "a10g-small"
    assert of_kind(session, ev.ApprovalResolved)[0].decision == "approved"
    streamed = "".join(e.text for e in events if isinstance(e, ev.ToolOutput) and e.job_id == handle.job_id)
    assert streamed.splitlines() == ["loading", "step 1 loss=0.5", "step 2 loss=0.25", "done"]
    final = [e for e in events if isinstance(e, ev.JobUpdated)][-1]
    assert final.status == "COMPLETED" and final.runtime == "hf" and final.url.endswith(handle.job_id)
    # the reservation was settled with the real (tiny) cost
    assert session.budget.reservations == {} and session.budget.compute_spent_usd < 0.1
    assert fake_hub.token not in (tmp_path / "sessions" / session.id / "events.jsonl").read_text()


def test_hf_dropped_stream_reconnects_without_duplicates(tmp_path, fake_hub):
    lines = [f"line {i}" for i in range(30)]
    fake_hub.next_job(lines, line_delay=0.005, drop_after=10, drop_times=2)
    col = Collector(tmp_path / "ws")

    async def go():
        await run_tool(make_hf_jobs(_hf(fake_hub)), col.ctx, operation="run", command=["python", "x.py"])
        manager = col.ctx.services.jobs
        (handle,) = manager.handles.values()
        await manager.wait(handle.job_id, timeout=30)
        return handle

    handle = run(go())
    assert col.text(handle.job_id).splitlines() == lines
    assert handle.status == "COMPLETED"
    assert len(fake_hub.requests.find("GET", f"/api/jobs/*/{handle.job_id}/logs")) >= 2


def test_hf_errors_are_results_that_say_what_to_do(tmp_path, fake_hub):
    col = Collector(tmp_path / "ws")
    tool = make_hf_jobs(_hf(fake_hub))

    async def go():
        out = {}
        fake_hub.fail("jobs.create", 402, times=1)
        out["billing"] = await outcome(tool, col.ctx, operation="run", command=["true"], hardware_flavor="h100")
        col.ctx.call_id = "c2"
        fake_hub.fail("jobs.create", 429, retry_after=7, times=1)
        out["limited"] = await outcome(tool, col.ctx, operation="run", command=["true"])
        fake_hub.fail("jobs.create", 503, times=1)
        out["broken"] = await outcome(tool, col.ctx, operation="run", command=["true"])
        out["foreign"] = await outcome(tool, col.ctx, operation="run", command=["true"], namespace="someone-else")
        out["missing"] = await outcome(tool, col.ctx, operation="inspect", job_id="0123456789abcdef01234567")
        out["bad_token"] = await outcome(make_hf_jobs(ToolsConfig(hf_endpoint=fake_hub.url, hf_token="hf_nope")),
                                         Collector(tmp_path / "w2").ctx, operation="ps")
        return out

    out = run(go())
    assert "402" in out["billing"] and "billing" in out["billing"]
    assert "429" in out["limited"] and "7s" in out["limited"]
    assert "503" in out["broken"] and "retry" in out["broken"]
    assert "not yours" in out["foreign"] and "fake-org" in out["foreign"]
    assert "404" in out["missing"]
    assert "401" in out["bad_token"] and "HF_TOKEN" in out["bad_token"]
    assert all(len(text) < 1000 for text in out.values())
    assert fake_hub.jobs == {}


def test_hf_scheduled_jobs_and_reattach_by_labels(tmp_path, fake_hub):
    fake_hub.next_job(["a", "b"], hold=True)
    tool = make_hf_jobs(_hf(fake_hub))
    col = Collector(tmp_path / "ws")

    async def go():
        launched = await run_tool(tool, col.ctx, operation="run", command=["python", "x.py"])
        first = col.ctx.services.jobs
        (handle,) = first.handles.values()
        await first.close()
        # a restarted kernel: no manager, no job records on disk, only the Hub's labels
        for path in (tmp_path / "jobs").glob("*.json"):
            os.remove(path)
        again = Collector(tmp_path / "ws")
        relaunch = await run_tool(tool, again.ctx, operation="run", command=["python", "x.py"])
        fake_hub.finish_job(handle.job_id)
        manager = again.ctx.services.jobs
        await manager.wait(handle.job_id, timeout=20)
        made = await run_tool(tool, col.ctx, operation="scheduled run", command=["python", "nightly.py"],
                              schedule="@daily")
        sid = next(iter(fake_hub.scheduled_jobs))
        listed = await run_tool(tool, col.ctx, operation="scheduled ps")
        suspended = await run_tool(tool, col.ctx, operation="scheduled suspend", scheduled_job_id=sid)
        inspected = await run_tool(tool, col.ctx, operation="scheduled inspect", scheduled_job_id=sid)
        deleted = await run_tool(tool, col.ctx, operation="scheduled delete", scheduled_job_id=sid)
        return launched, relaunch, handle, manager, made, sid, listed, suspended, inspected, deleted

    launched, relaunch, handle, manager, made, sid, listed, suspended, inspected, deleted = run(go())
    assert len(fake_hub.jobs) == 1 + 0  # the relaunch re-attached
    assert "Re-attached" in relaunch.content and manager.handles[handle.job_id].status == "COMPLETED"
    assert sid in made.content and sid in listed.content
    assert json.loads(inspected.content)["suspend"] is True and "delete done" in deleted.content
    assert fake_hub.scheduled_jobs == {}
    # whoami is asked once per token, not before every request
    assert len(fake_hub.requests.find("GET", "/api/whoami-v2")) <= 2


def test_hf_uv_sends_the_script_inline_with_its_dependencies(tmp_path, fake_hub):
    import base64
    import re

    col = Collector(tmp_path / "ws")
    (tmp_path / "ws" / "train.py").write_text("import trl\nprint('training')\n")

    async def go():
        out = await run_tool(make_hf_jobs(_hf(fake_hub)), col.ctx, operation="uv", script="train.py",
                             dependencies=["trl>=0.9", "datasets"], hardware_flavor="t4-small", timeout="45m")
        manager = col.ctx.services.jobs
        await manager.wait(next(iter(manager.handles)), timeout=20)
        return out

    out = run(go())
    spec = fake_hub.last_job.spec
    assert "Started job" in out.content and spec["dockerImage"].startswith("ghcr.io/astral-sh/uv")
    command = " ".join(spec["command"])
    encoded = re.search(r"echo '([A-Za-z0-9+/=]+)'", command).group(1)
    assert base64.b64decode(encoded).decode() == "import trl\nprint('training')\n"
    assert "--with 'trl>=0.9' --with datasets" in command and spec["timeoutSeconds"] == 2700
    assert fake_hub.token not in json.dumps(spec["command"]) + json.dumps(spec.get("environment") or {})
