"""A scripted session for the crash-safety, export and resume tests.

``run_story(home)`` plays a three-turn session with offline pieces only: a plan, a script inserted as a cell,
an auto-approved local job (the `hf_jobs` stand-in appends its call id to ``launches.log`` and emits
``job_updated``), a compaction of the context (kernel-history digest included), a paid job left waiting for
approval, and a trace upload to a loopback Hub.

Run as a program (``python tests/crash_driver.py HOME SESSION_ID``) it plays the same story and, when
``MLINTERN_CRASH_AT`` names a point, SIGKILLs itself there. Points are hooked here, in the driver, by wrapping
the session's event store and tools; the product code is the real one. Points:

* ``before:KIND:N`` / ``after:KIND:N``: just before / after the N-th event of KIND is made durable
* ``torn:KIND:N``: in the middle of that append (half the line written and fsync'd)
* ``after_launch:N``: right after the N-th job launch, before its ``job_updated`` event
* ``upload``: in the middle of the trace upload (after the trace file, during the commit)

Every event the store made durable is listed in ``durable.log`` (seq per line, written after the fsync),
so the test can check that resume finds each one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.models.offline import ScriptedModel
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.tools.registry import ToolContext, ToolRegistry, tool

SECRET = "hf_StoryTokenAbcdefghijklmnopqrstuvwxyz12"
SCRIPT = (
    "# /// script\n# dependencies = [\"transformers\", \"datasets\"]\n# ///\n"
    "open('LAUNCHED_BY_EXPORT', 'w').write('this cell must never run')\n"
    "print('training distilbert on imdb')\n"
)
FULL_SCRIPT = SCRIPT.replace("imdb", "imdb (full run)")
DIGEST = "In [3]: df = load_dataset('imdb')['train'].to_pandas()\nIn [4]: df.shape\nOut[4]: (25000, 2)"
SUMMARY = "Planned the fine-tune, inserted train.py, launched a local smoke job (job-1), loss falling."

RESPONSES: list[Any] = [
    {"text": "I'll plan this, then write the training script into a cell.",
     "tool_calls": [
         {"id": "call_plan", "name": "plan_tool", "arguments": {"todos": [
             {"id": "1", "content": "write train.py", "status": "in_progress"},
             {"id": "2", "content": "smoke test as a local job", "status": "pending"}]}},
         {"id": "call_cell", "name": "notebook_insert_cell", "arguments": {"source": SCRIPT, "cell_type": "code"}},
     ]},
    {"text": "", "tool_calls": [
        {"id": "call_job1", "name": "hf_jobs",
         "arguments": {"operation": "run", "runtime": "local", "script": SCRIPT, "timeout": "10m"}}]},
    {"text": "", "tool_calls": [
        {"id": "call_plan2", "name": "plan_tool", "arguments": {"todos": [
            {"id": "1", "content": "write train.py", "status": "completed"},
            {"id": "2", "content": "smoke test as a local job", "status": "completed"}]}}]},
    "The smoke job is running: <script>alert('x')</script> **job-1**.",
    "The loss is going down; the smoke run looks healthy.",
    {"text": "Launching the full run on an A10G.", "tool_calls": [
        {"id": "call_job2", "name": "hf_jobs",
         "arguments": {"operation": "run", "hardware_flavor": "a10g-small", "script": FULL_SCRIPT,
                       "timeout": "1h"}}]},
]


def launches(session_dir: Path) -> list[str]:
    path = session_dir / "launches.log"
    return path.read_text().split() if path.exists() else []


def make_tools(crash: Crash | None = None) -> ToolRegistry:
    @tool(access="session")
    async def plan_tool(todos: list[dict[str, Any]], ctx: ToolContext) -> str:
        """Update the plan."""
        ctx.emit(ev.PlanUpdated(todos=todos))
        return "plan updated"

    @tool(access="session")
    async def notebook_insert_cell(source: str, ctx: ToolContext, cell_type: str = "code") -> str:
        """Insert a cell below the prompt cell."""
        ctx.emit(ev.CellInsert(call_id=ctx.call_id, source=source, cell_type=cell_type))  # type: ignore[arg-type]
        return "cell inserted"

    @tool
    async def hf_jobs(operation: str, ctx: ToolContext, script: str = "", runtime: str = "hf",
                      hardware_flavor: str = "", timeout: str = "30m") -> str:
        """Launch a job (test stand-in: records the launch, then reports it running)."""
        session_dir = ctx.workspace.parent
        with open(session_dir / "launches.log", "a") as log:
            log.write(ctx.call_id + "\n")
            log.flush()
            os.fsync(log.fileno())
        if crash is not None:
            crash.launched()
        job_id = f"job-{len(launches(session_dir))}"
        ctx.emit(ev.JobUpdated(call_id=ctx.call_id, job_id=job_id, status="RUNNING", runtime="local"))
        return f"started {job_id}"

    return ToolRegistry([plan_tool, notebook_insert_cell, hf_jobs])


class Crash:
    """Kills the process at the point named in MLINTERN_CRASH_AT (or never, when it is empty)."""

    def __init__(self, point: str) -> None:
        self.point = point
        self.counts: dict[str, int] = {}
        self.launches = 0

    def die(self) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def hook(self, session: Session) -> None:
        store = session.store
        real_append = store.append
        durable = open(session.dir / "durable.log", "a")  # noqa: SIM115 - lives as long as the process

        def append(data: dict[str, Any]) -> None:
            kind = data.get("kind", "")
            if kind == "assistant_delta":
                return real_append(data)
            self.counts[kind] = self.counts.get(kind, 0) + 1
            where = f"{kind}:{self.counts[kind]}"
            if self.point == f"before:{where}":
                self.die()
            if self.point == f"torn:{where}":
                import json

                line = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
                store._file.write(line[: len(line) // 2])
                store._file.flush()
                os.fsync(store._file.fileno())
                self.die()
            real_append(data)
            if kind not in ("tool_output",):
                durable.write(f"{data['seq']}\n")
                durable.flush()
            if self.point == f"after:{where}":
                self.die()

        store.append = append  # type: ignore[method-assign]
        # SessionStarted was written before the hook: list it too.
        durable.write("1\n")
        durable.flush()

    def launched(self) -> None:
        self.launches += 1
        if self.point == f"after_launch:{self.launches}":
            self.die()


def compact(session: Session) -> None:
    """Stand-in for context compaction: summarise the middle of the transcript (the kernel digest included)."""
    end = len(session.transcript.messages) - 1
    session.emit(ev.Compacted(summary=SUMMARY, start=2, end=end, tokens_before=session.transcript.total_tokens,
                              tokens_after=session.transcript.total_tokens // 3))


def run_story(home: Path, session_id: str = "story", *, crash: Crash | None = None, hub: Any = None) -> Session:
    config = SessionConfig(model="scripted", approve_mode="auto", budget_usd=5.0)
    session = Session(config, make_tools(crash), model=ScriptedModel(RESPONSES, name="scripted:story"),
                      session_id=session_id, home=home)
    if crash is not None:
        crash.hook(session)
    asyncio.run(session.run_turn(f"fine-tune distilbert on imdb; my token is {SECRET}"))
    asyncio.run(session.run_turn("how is it going?", kernel_digest=DIGEST))
    compact(session)
    session.set_approve_mode("ask")
    session.config.person_present = False  # --wait: the paid job waits for a person who is not there
    asyncio.run(session.run_turn("now launch the full run on an A10G"))
    if hub is not None:
        upload(session, hub, crash)
    return session


def upload(session: Session, hub: Any, crash: Crash | None) -> None:
    from huggingface_hub import HfApi

    from mlintern_jupyter.agent.upload import TraceUploader
    from mlintern_jupyter.agent.upload_consent import TraceConsent

    api = HfApi(endpoint=hub.url, token=hub.token)
    if crash is not None and crash.point == "upload":
        real_commit = api.create_commit

        def commit(*args: Any, **kwargs: Any) -> Any:
            crash.die()
            return real_commit(*args, **kwargs)

        api.create_commit = commit  # type: ignore[method-assign]
    uploader = TraceUploader(session, api=api, on_turn_end=False, debounce_s=0.0)
    TraceConsent.for_session(session).record(uploader.repo_template, True)  # this machine said yes before
    uploader.schedule()
    if not uploader.flush(timeout=30):
        raise SystemExit(f"upload failed: {uploader.last_error}")
    uploader.close()


def main() -> None:
    home, session_id = Path(sys.argv[1]), sys.argv[2]
    crash = Crash(os.environ.get("MLINTERN_CRASH_AT", ""))
    from tests.fakes.hub import FakeHub

    with FakeHub() as hub:
        session = run_story(home, session_id, crash=crash, hub=hub)
        session.close()
    print("STORY COMPLETE")


if __name__ == "__main__":
    main()
