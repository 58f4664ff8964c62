"""Generated event sequences for the state-fold property test and its benchmark (no tests here).

`live_vs_replay(events, home)` emits the events through a live Session (stamp, redact, validate, fsync, apply),
then reads the log back and folds it with the same `apply`, comparing the two states after every prefix.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import strategies as st

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.approval import ActionSpec
from mlintern_jupyter.agent.models import ScriptedModel
from mlintern_jupyter.agent.redact import Redactor
from mlintern_jupyter.agent.session import Session, SessionConfig, default_system_prompt
from mlintern_jupyter.agent.state import SessionState, apply
from mlintern_jupyter.agent.store import read_events
from mlintern_jupyter.tools.registry import ToolRegistry

CALLS = ["c1", "c2", "c3"]
NONCES = ["n1", "n2", "n3"]
JOBS = ["j1", "j2"]
text = st.text(alphabet="abc xyz-_.", max_size=12)
money = st.floats(min_value=0, max_value=20, allow_nan=False, allow_infinity=False)
maybe_money = st.none() | money
count = st.integers(min_value=0, max_value=5_000)


def _action(script: str | None) -> dict:
    return ActionSpec(tool="hf_jobs", operation="run", hardware_flavor="a10g-small", timeout_s=3600,
                      script=script, arguments_json=json.dumps({"script": script})).model_dump(mode="json")


EVENTS = st.one_of(
    st.builds(ev.UserPrompt, text=text, cell_id=st.none() | st.sampled_from(["cell-1", "cell-2"]),
              kernel_digest=st.none() | text),
    st.builds(ev.AssistantMessage, text=text, tool_calls=st.lists(st.sampled_from(CALLS), unique=True, max_size=3).map(
        lambda ids: [{"id": i, "name": "hf_jobs", "arguments": "{}"} for i in ids])),
    st.builds(ev.ToolCall, call_id=st.sampled_from(CALLS), tool=st.just("hf_jobs"), arguments=st.just({})),
    st.builds(ev.ToolStarted, call_id=st.sampled_from(CALLS), tool=st.just("hf_jobs")),
    st.builds(ev.ToolResult, call_id=st.sampled_from(CALLS), tool=st.just("hf_jobs"), ok=st.booleans(), content=text,
              status=st.sampled_from(["ok", "error", "denied", "aborted"])),
    st.builds(ev.Usage, prompt_tokens=count, completion_tokens=count, cache_read_tokens=count,
              cache_write_tokens=count, cost_usd=maybe_money, model=st.sampled_from(["scripted:a", "scripted:b"])),
    st.builds(ev.EffortFallback, model=st.sampled_from(["scripted:a", "scripted:b"]),
              requested=st.sampled_from(["high", "max"]), effective=st.none() | st.sampled_from(["low", "medium"])),
    st.builds(ev.PriceSet, model=st.just("scripted:a"), input_per_mtok=money, output_per_mtok=money),
    st.builds(ev.ContextWindowLearned, model=st.just("scripted:b"), tokens=st.integers(1_000, 200_000)),
    st.builds(ev.BudgetUpdated, cap_usd=maybe_money),
    st.builds(ev.ComputeReserved, call_id=st.sampled_from(CALLS), amount_usd=money),
    st.builds(ev.ComputeReleased, call_id=st.sampled_from(CALLS)),
    st.builds(ev.ComputeSettled, call_id=st.sampled_from(CALLS), job_id=st.sampled_from(JOBS),
              cost_usd=maybe_money),
    st.builds(ev.ComputeUnpriced, call_id=st.sampled_from(CALLS), tool=st.just("hf_jobs"), reason=text),
    st.builds(ev.HfTokenJobsAllowed, allowed=st.booleans()),
    st.builds(ev.ApprovalRequested, call_id=st.sampled_from(CALLS), nonce=st.sampled_from(NONCES),
              action_sha256=st.just("0" * 64), cost_usd=maybe_money,
              expires_at=st.sampled_from(["2030-01-01T00:00:00.000Z", "2020-01-01T00:00:00.000Z"]),
              action=st.sampled_from([None, "print(1)"]).map(_action)),
    st.builds(ev.ApprovalResolved, call_id=st.sampled_from(CALLS), nonce=st.sampled_from(NONCES),
              decision=st.sampled_from(["approved", "denied", "expired", "superseded"]),
              by=st.sampled_from(["person", "policy"]), feedback=text,
              allow_program=st.none() | st.sampled_from(["pytest", "ls"]),
              allow_shape=st.none() | st.sampled_from(["ls", "wc -l <arg>"]),
              edited_script=st.none() | st.just("print(2)")),
    st.builds(ev.ApproveModeChanged, mode=st.sampled_from(["ask", "auto", "deny"])),
    st.builds(ev.EffortChanged, effort=st.none() | st.sampled_from(["low", "high"])),
    st.builds(ev.MaxIterationsChanged, max_iterations=st.integers(min_value=1, max_value=500)),
    st.builds(ev.TraceModeChanged, mode=st.sampled_from(["private", "public", "off"])),
    st.builds(ev.ModelChanged, model=st.sampled_from(["scripted:a", "scripted:b"]),
              api_base=st.none() | st.just("http://localhost:8000/v1")),
    st.builds(ev.PlanUpdated, todos=st.lists(st.builds(dict, id=st.sampled_from("123"), content=text,
                                                        status=st.sampled_from(["pending", "completed"])), max_size=3)),
    st.builds(ev.GuardFired, guard=st.just("doom_loop"), message=text),
    st.builds(ev.Compacted, summary=text, start=st.integers(1, 3), end=st.integers(1, 6)),
    st.builds(ev.CellPlaced, call_id=st.sampled_from(CALLS), by=st.sampled_from(["panel", "kernel"]),
              how=st.sampled_from(["inserted", "found", "missing"])),
    st.builds(ev.JobUpdated, call_id=st.sampled_from(CALLS), job_id=st.sampled_from(JOBS),
              status=st.sampled_from(["RUNNING", "COMPLETED", "TIMEOUT"]), cost_usd=maybe_money),
    st.builds(ev.JobMetrics, call_id=st.sampled_from(CALLS), job_id=st.sampled_from(JOBS),
              points=st.lists(st.dictionaries(st.sampled_from(["loss", "step"]), money, min_size=1), max_size=3)),
    st.builds(ev.TurnEnded, reason=st.sampled_from(["done", "awaiting_approval", "error", "cancelled"])),
    st.builds(ev.Notice, message=text),
    st.builds(ev.SessionEnded, reason=text),
)
SEQUENCES = st.lists(EVENTS, max_size=40)


def live_vs_replay(events: list[ev.Event], home: Path) -> tuple[int, list[int]]:
    """(prefixes compared, indices where the live and the replayed state differ)."""
    session = Session(SessionConfig(model="scripted", cwd="/nb"), ToolRegistry(), model=ScriptedModel([]),
                      home=home, redactor=Redactor())
    live = [session.state.snapshot()]
    for event in events:
        session.emit(event)
        live.append(session.state.snapshot())
    session.close()
    replayed = SessionState.initial(default_system_prompt())
    log = read_events(session.dir / "events.jsonl")
    assert log.bad_lines == [] and log.torn_tail is None
    mismatches = []
    for index, event in enumerate(log.events):
        apply(replayed, event)
        if replayed.snapshot() != live[index]:
            mismatches.append(index)
    return len(log.events), mismatches
