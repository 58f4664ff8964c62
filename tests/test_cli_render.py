"""The terminal view of a run: one line per event, job progress bars, JSON lines, and no terminal control from
untrusted text; the follower finds a run's session by its prompt cell id."""

from __future__ import annotations

import io
import json

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.migrations import SCHEMA_VERSION
from mlintern_jupyter.agent.store import sessions_dir
from mlintern_jupyter.cli.follow import SessionFollower
from mlintern_jupyter.cli.render import Renderer, bar


def lines(*events: ev.Event) -> list[str]:
    out = io.StringIO()
    renderer = Renderer(out)
    for event in events:
        renderer.show(event)
    return out.getvalue().splitlines()


def test_one_line_per_event_with_running_cost_and_job_progress():
    shown = lines(
        ev.SessionStarted(model="demo", name="20261201-101500-3f2b", session_id="3f2b-uuid"),
        ev.ToolCall(call_id="c", tool="hf_jobs", arguments={"operation": "uv", "script": "x" * 500}),
        ev.ApprovalRequested(call_id="c", nonce="N0NCE", action_sha256="0" * 64, cost_usd=1.5, expires_at="",
                             tool="hf_jobs", reason="runs on a GPU"),
        ev.Usage(prompt_tokens=1200, completion_tokens=30, cost_usd=0.01),
        ev.Usage(prompt_tokens=1300, completion_tokens=40, cost_usd=None),
        ev.JobUpdated(call_id="c", job_id="j1", status="RUNNING", runtime="hf", hardware="a10g-small"),
        ev.JobMetrics(call_id="c", job_id="j1", points=[{"epoch": 1, "num_epochs": 4, "loss": 0.9}]),
        ev.ToolOutput(call_id="c", job_id="j1", text=" 75%|███████▌  | 75/100 [00:30<00:10]"),
        ev.ToolOutput(call_id="c", job_id="j1", text="a log line without progress"),
        ev.TurnEnded(reason="done"),
    )
    assert shown[0] == "session  20261201-101500-3f2b (3f2b-uuid) · model demo"
    assert shown[1].startswith("call     hf_jobs operation='uv', script=<500 chars>")
    assert "nonce N0NCE" in shown[2] and "worst case $1.5000" in shown[2]
    assert shown[3].endswith("total $0.0100") and "cost unknown" in shown[4]
    assert shown[5].startswith("job      j1 RUNNING") and "a10g-small" in shown[5]
    assert bar(0.25) in shown[6] and "loss 0.9" in shown[6]
    assert bar(0.75) in shown[7]
    assert shown[8] == "end      done" and len(shown) == 9  # the plain log line printed nothing
    (ended,) = lines(ev.JobUpdated(call_id="c", job_id="j1", status="COMPLETED", runtime="hf", cost_usd=None))
    assert "cost unknown" in ended  # a job of unknown price is never shown as free


def test_control_characters_from_tools_never_reach_the_terminal():
    (line,) = lines(ev.ToolResult(call_id="c", tool="web", ok=True,
                                  content="ok\x1b[2J\x1b]0;pwned\x07\rover\nwritten\x9b31m"))
    assert not any(ord(ch) < 32 or 0x7f <= ord(ch) <= 0x9f for ch in line)
    assert "pwned" in line  # the text is shown, inert


def test_json_mode_is_one_event_a_line():
    out = io.StringIO()
    renderer = Renderer(out, as_json=True)
    events = [ev.UserPrompt(text="hi\nthere"), ev.TurnEnded(reason="error", message="boom")]
    for event in events:
        renderer.show(event)
    assert [ev.decode_event(line) for line in out.getvalue().splitlines()] == events


def write(folder, *events: ev.Event) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "events.jsonl", "a") as log:
        for event in events:
            log.write(json.dumps({"v": SCHEMA_VERSION, **event.to_dict()}) + "\n")


def test_the_follower_locks_onto_the_session_whose_prompt_carries_the_cell_id():
    root = sessions_dir()
    write(root / "old", ev.SessionStarted(model="demo", session_id="old", seq=1))
    follower = SessionFollower(cell_id="cell-42")
    assert follower.poll() == []
    write(root / "old", ev.UserPrompt(text="someone else's", cell_id="cell-7", session_id="old", seq=2))
    write(root / "new", ev.SessionStarted(model="demo", session_id="new", seq=1))
    assert follower.poll() == [] and follower.session_id is None
    write(root / "new", ev.UserPrompt(text="ours", cell_id="cell-42", session_id="new", seq=2))
    got = follower.poll()
    assert follower.session_id == "new" and [e.kind for e in got] == ["session_started", "user_prompt"]
    # A half-written line waits for its newline.
    with open(root / "new" / "events.jsonl", "a") as log:
        log.write(json.dumps({"v": SCHEMA_VERSION, **ev.TurnEnded(reason="done", session_id="new", seq=3).to_dict()})[:20])
    assert follower.poll() == []
    with open(root / "new" / "events.jsonl", "a") as log:
        log.write(json.dumps({"v": SCHEMA_VERSION, **ev.TurnEnded(reason="done", session_id="new", seq=3).to_dict()})[20:]
                  + "\n")
    assert [e.kind for e in follower.poll()] == ["turn_ended"]
