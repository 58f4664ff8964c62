"""Loop guards: tail-anchored doom loop (one message per episode), malformed-call streak, plan nudges."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.guards import CallRecord, LoopGuards
from mlintern_jupyter.agent.messages import UserMessage
from mlintern_jupyter.agent.models import ScriptedModel
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.tools.registry import ToolRegistry, tool


def rec(tool_name: str = "hf_jobs", args: dict | None = None, result: str = "RUNNING", status: str = "ok") -> CallRecord:
    return CallRecord(tool_name, args if args is not None else {"operation": "logs", "job_id": "j1"}, result,
                      status == "ok", status)


def feed(guards: LoopGuards, records: list[CallRecord]) -> list[str]:
    fired: list[str] = []
    for r in records:
        fired += [m.guard for m in guards.after_batch([r])]
    return fired


def test_three_identical_calls_fire_once_per_episode() -> None:
    g = LoopGuards()
    assert feed(g, [rec(), rec()]) == []
    assert feed(g, [rec()]) == ["doom_loop"]
    # The same loop going on is the same episode: no message on every following iteration.
    assert feed(g, [rec(), rec(), rec()]) == []


def test_identical_calls_followed_by_other_calls_do_not_keep_firing() -> None:
    """The reference's failure: a window check kept firing after the model had moved on."""
    g = LoopGuards()
    assert feed(g, [rec(), rec(), rec()]) == ["doom_loop"]
    others = [rec("read", {"path": f"f{i}"}, f"content {i}") for i in range(6)]
    assert feed(g, others) == []


def test_a_new_episode_fires_again() -> None:
    g = LoopGuards()
    feed(g, [rec(), rec(), rec()])
    feed(g, [rec("read", {"path": "x"}, "x")])
    assert feed(g, [rec(), rec(), rec()]) == ["doom_loop"]


def test_argument_key_order_does_not_hide_a_loop() -> None:
    g = LoopGuards()
    calls = [rec(args={"operation": "logs", "job_id": "j1"}), rec(args={"job_id": "j1", "operation": "logs"}), rec()]
    assert feed(g, calls) == ["doom_loop"]


def test_polling_with_changing_results_never_fires() -> None:
    g = LoopGuards()
    polls = [rec(result=f"step {i}: loss {1 / (i + 1):.3f}") for i in range(30)]
    assert feed(g, polls) == []


def test_cycles_of_two_to_five_repeated_twice_fire_once() -> None:
    for length in range(2, 6):
        g = LoopGuards()
        cycle = [rec("read", {"path": f"p{i}"}, f"r{i}") for i in range(length)]
        fired = feed(g, cycle + cycle[:-1])
        assert fired == [], length
        assert feed(g, cycle[-1:]) == ["doom_loop"], length
        # Going round again (from any starting point) is the same episode.
        assert feed(g, cycle) == [], length


def test_a_cycle_of_six_is_not_a_doom_loop() -> None:
    g = LoopGuards()
    cycle = [rec("read", {"path": f"p{i}"}, f"r{i}") for i in range(6)]
    assert feed(g, cycle + cycle) == []


def test_malformed_streak_two_in_a_row_for_one_tool_fires_once() -> None:
    g = LoopGuards()
    bad = rec("hf_jobs", '{"operation": ', "Error: the arguments are not valid JSON", "invalid")
    assert feed(g, [bad]) == []
    fired = g.after_batch([rec("hf_jobs", "{x", "Error: invalid arguments for hf_jobs: operation: Field required", "invalid")])
    assert [m.guard for m in fired] == ["malformed_calls"]
    assert "Field required" in fired[0].message
    assert feed(g, [rec("hf_jobs", "{y", "Error: again", "invalid")]) == []  # same streak
    feed(g, [rec("hf_jobs", {"operation": "ps"}, "[]")])  # a valid call ends the streak
    assert feed(g, [rec("hf_jobs", "{", "e1", "invalid"), rec("hf_jobs", "{{", "e2", "invalid")]) == ["malformed_calls"]


def test_malformed_calls_to_different_tools_are_not_a_streak() -> None:
    g = LoopGuards()
    assert feed(g, [rec("read", "{", "e", "invalid"), rec("bash", "{", "e", "invalid")]) == []


def test_plan_continuation_nudges_at_most_twice() -> None:
    g = LoopGuards()
    plan = [{"id": "1", "content": "train", "status": "pending"}]
    assert g.on_text_answer(plan) is not None
    assert g.on_text_answer(plan) is not None
    assert g.on_text_answer(plan) is None
    g.new_turn()
    assert g.on_text_answer([{"id": "1", "content": "x", "status": "completed"}]) is None


# ---- through the loop ---------------------------------------------------------------------------------------


@tool(read_only=True)
async def read(path: str) -> str:
    """Read a file.

    Args:
        path: the file
    """
    return "the same content"


def run(model: ScriptedModel, tmp_path: Path) -> Session:
    session = Session(SessionConfig(), ToolRegistry([read]), model=model, home=tmp_path)
    asyncio.run(session.run_turn("look at the file"))
    return session


def test_loop_injects_one_corrective_message_the_model_sees(tmp_path: Path) -> None:
    same = {"tool_calls": [{"name": "read", "arguments": {"path": "a.txt"}}]}
    model = ScriptedModel([same] * 6 + ["I will try something else."])
    session = run(model, tmp_path)
    fired = [e for e in session.events if isinstance(e, ev.GuardFired)]
    assert [e.guard for e in fired] == ["doom_loop"]
    # The 4th request (after three identical calls) carries the corrective message as a synthetic user message.
    seen = [m for m in model.requests[3] if isinstance(m, UserMessage) and m.synthetic]
    assert seen and "Repeating it will not change the outcome" in seen[-1].text
    assert session.events[-1].reason == "done"  # type: ignore[union-attr]


def test_loop_malformed_streak_message(tmp_path: Path) -> None:
    bad = {"tool_calls": [{"name": "read", "arguments": '{"path": '}]}
    model = ScriptedModel([bad, bad, "ok"])
    session = run(model, tmp_path)
    assert [e.guard for e in session.events if isinstance(e, ev.GuardFired)] == ["malformed_calls"]
    results = [e for e in session.events if isinstance(e, ev.ToolResult)]
    assert [r.status for r in results] == ["invalid", "invalid"]
