"""The loop with scripted models: streaming, validation, concurrency, order, caps, cancellation, repair."""

import asyncio

import pytest

from mlintern_jupyter.agent.messages import AssistantMessage, ToolCallPart, ToolResultMessage, UserMessage
from mlintern_jupyter.agent.models import FunctionModel, ScriptedModel
from mlintern_jupyter.agent.session import Session
from mlintern_jupyter.tools.registry import ToolRegistry, tool

from .helpers import call, kinds, make_session, results_by_call


@tool(read_only=True)
async def echo(text: str, times: int = 1) -> str:
    """Repeat text.

    Args:
        text: what to repeat
        times: how often
    """
    return text * times


def test_text_streams_as_deltas_then_one_message() -> None:
    session = make_session(ScriptedModel(["a long answer " * 5]))
    end = asyncio.run(session.run_turn("hi"))
    assert end.reason == "done"
    deltas = [e.text for e in session.seen if e.kind == "assistant_delta"]
    assert len(deltas) > 1 and "".join(deltas) == "a long answer " * 5
    assert [e.kind for e in session.events if e.kind != "usage"][-2:] == ["assistant_message", "turn_ended"]


def test_invalid_calls_get_error_results_and_never_run() -> None:
    ran: list[str] = []

    @tool(read_only=True)
    async def probe(x: int) -> str:
        """Probe."""
        ran.append(str(x))
        return "ran"

    script = [
        {"tool_calls": [call("probe", "{not json"), call("probe", {"x": "NaN-ish"}), call("nope", {}),
                        call("probe", {"x": 1, "extra": 2}), call("probe", {"x": 3})]},
        "done",
    ]
    session = make_session(ScriptedModel(script), [probe])
    asyncio.run(session.run_turn("go"))
    results = [e for e in session.events if e.kind == "tool_result"]
    assert [r.status for r in results] == ["invalid", "invalid", "invalid", "invalid", "ok"]
    assert "not valid JSON" in results[0].content and "unknown tool 'nope'" in results[2].content
    assert "extra" in results[3].content
    assert ran == ["3"]


def test_five_invalid_calls_end_the_run_with_a_reason() -> None:
    bad = {"tool_calls": [call("invented_tool", {})]}
    session = make_session(ScriptedModel([bad] * 20))
    end = asyncio.run(session.run_turn("go"))
    assert end.reason == "error" and "5 invalid tool calls" in end.message
    assert session.model.calls == 5


def test_calls_run_concurrently_and_results_keep_call_order() -> None:
    started: dict[str, asyncio.Event] = {}

    @tool(read_only=True)
    async def waiter(name: str, wait_for: str = "") -> str:
        """Wait for another call to start."""
        started.setdefault(name, asyncio.Event()).set()
        if wait_for:
            await asyncio.wait_for(started.setdefault(wait_for, asyncio.Event()).wait(), 5)
        return name

    # "first" cannot finish until "second" has started: a sequential executor would time out.
    script = [{"tool_calls": [call("waiter", {"name": "first", "wait_for": "second"}),
                              call("waiter", {"name": "second"})]}, "done"]
    session = make_session(ScriptedModel(script), [waiter])
    asyncio.run(session.run_turn("go"))
    finished = [e.content for e in session.events if e.kind == "tool_result"]
    assert finished == ["second", "first"]  # events in completion order
    tool_messages = [m.content for m in session.transcript.messages if isinstance(m, ToolResultMessage)]
    assert tool_messages == ["first", "second"]  # transcript in call order


def test_max_iterations_is_a_visible_end() -> None:
    looping = {"tool_calls": [call("echo", {"text": "x"})]}
    session = make_session(ScriptedModel([looping] * 10), [echo], max_iterations=3)
    end = asyncio.run(session.run_turn("go"))
    assert end.reason == "max_iterations" and "3 model calls" in end.message
    assert session.model.calls == 3


def test_empty_prompt_makes_no_model_call() -> None:
    session = make_session(ScriptedModel(["never"]))
    end = asyncio.run(session.run_turn("   "))
    assert end.reason == "error" and session.model.calls == 0
    assert any(e.kind == "error" and "empty" in e.message for e in session.events)


async def _cancel_after(session: Session, prompt: str, when: asyncio.Event):
    task = asyncio.ensure_future(session.run_turn(prompt))
    await asyncio.wait_for(when.wait(), 5)
    session.cancel()
    return await asyncio.wait_for(task, 5)


def test_cancel_during_a_model_call() -> None:
    streaming = asyncio.Event()

    async def slow(messages, tools, settings):
        streaming.set()
        await asyncio.sleep(30)
        return "never"

    session = make_session(FunctionModel(slow))
    end = asyncio.run(_cancel_after(session, "go", streaming))
    assert end.reason == "cancelled"


def test_cancel_during_tool_calls_aborts_every_open_call_and_the_next_turn_works() -> None:
    running = asyncio.Event()

    @tool(read_only=True)
    async def sleepy(seconds: float) -> str:
        """Sleep."""
        running.set()
        await asyncio.sleep(seconds)
        return "woke"

    script = [{"tool_calls": [call("sleepy", {"seconds": 30}), call("sleepy", {"seconds": 30}),
                              call("sleepy", {"seconds": 0})]}, "second turn answer"]
    session = make_session(ScriptedModel(script), [sleepy])

    async def scenario():
        end = await _cancel_after(session, "go", running)
        assert end.reason == "cancelled"
        assert not session.transcript.open_tool_calls()
        return await session.run_turn("again")

    end = asyncio.run(scenario())
    results = results_by_call(session)
    assert all(len(v) == 1 for v in results.values()) and len(results) == 3
    assert sum(r[0].status == "aborted" for r in results.values()) >= 2
    assert end.reason == "done"
    # The request after the cancel had a result for every call: a valid transcript for any provider.
    last_request = session.model.requests[-1]
    calls = [c.id for m in last_request if isinstance(m, AssistantMessage) for c in m.tool_calls]
    answered = [m.call_id for m in last_request if isinstance(m, ToolResultMessage)]
    assert sorted(calls) == sorted(answered)


def test_resume_repairs_dangling_calls(tmp_path) -> None:
    session = make_session(ScriptedModel([{"tool_calls": [call("echo", {"text": "a"}, "c1")]}]), [echo])
    from mlintern_jupyter.agent import events as ev

    session.emit(ev.UserPrompt(text="go"))
    session.emit(ev.AssistantMessage(text="", tool_calls=[{"id": "c1", "name": "echo", "arguments": '{"text":"a"}'}]))
    session.close()  # the kernel died here: c1 never got a result
    resumed = Session.resume(session.id, ToolRegistry([echo]), model=ScriptedModel(["ok"]))
    assert not resumed.transcript.open_tool_calls()
    assert [m.content for m in resumed.transcript.messages if isinstance(m, ToolResultMessage)][0].startswith(
        "Tool call aborted")
    assert asyncio.run(resumed.run_turn("continue")).reason == "done"


def test_resume_rebuilds_transcript_plan_and_usage() -> None:
    from mlintern_jupyter.agent import events as ev

    script = [{"tool_calls": [call("echo", {"text": "a"})]}, "final"]
    session = make_session(ScriptedModel(script), [echo])
    asyncio.run(session.run_turn("go"))
    session.emit(ev.PlanUpdated(todos=[{"id": "1", "content": "train", "status": "pending"}]))
    session.close()
    resumed = Session.resume(session.id, ToolRegistry([echo]), model=ScriptedModel([]))
    assert [type(m) for m in resumed.transcript.messages] == [type(m) for m in session.transcript.messages]
    assert resumed.plan == session.plan
    assert resumed.usage == session.usage
    assert resumed.events[-1].seq == session.events[-1].seq


def test_pasted_token_is_redacted_before_the_model_sees_it() -> None:
    token = "hf_" + "Q7mZ2xKp9LwR4tYb8NcV3sJd6HfGa1EuTo"
    session = make_session(ScriptedModel(["ok"]))
    asyncio.run(session.run_turn(f"use my token {token} please"))
    sent = [m.text for m in session.model.requests[0] if isinstance(m, UserMessage)]
    assert token not in sent[0] and "[REDACTED" in sent[0]
    assert token not in (session.dir / "events.jsonl").read_text()


def test_transcript_repair_helper() -> None:
    from mlintern_jupyter.agent.messages import Transcript, repair_dangling_calls

    transcript = Transcript()
    transcript.append(UserMessage("x"))
    transcript.append(AssistantMessage("", (ToolCallPart("a", "t", "{}"), ToolCallPart("b", "t", "{}"))))
    transcript.append(ToolResultMessage("a", "t", "ok"))
    transcript.append(UserMessage("y"))
    assert [c.id for c in repair_dangling_calls(transcript)] == ["b"]
    assert isinstance(transcript.messages[3], ToolResultMessage) and transcript.messages[3].call_id == "b"


@pytest.mark.parametrize("mode,expect", [("deny", "denied"), ("auto", "approved")])
def test_approval_modes_without_a_person(mode, expect) -> None:
    @tool
    async def spend(amount: int) -> str:
        """Not read-only: the policy asks."""
        return "spent"

    session = make_session(ScriptedModel([{"tool_calls": [call("bash", {"command": "ls"})]}, "done"]),
                           approve_mode=mode)
    from mlintern_jupyter.tools.registry import Tool

    @tool
    async def bash(command: str) -> str:
        """Run a command."""
        return "listing"

    session.tools.register(bash)
    asyncio.run(session.run_turn("go"))
    resolved = [e for e in session.events if e.kind == "approval_resolved"]
    assert resolved and resolved[0].decision == expect and resolved[0].by == "policy"
    assert kinds(session).count("tool_started") == (1 if expect == "approved" else 0)
    assert Tool  # imported for the registry API


def test_an_ended_session_refuses_new_prompts_with_a_hint() -> None:
    from mlintern_jupyter.agent import events as ev

    session = make_session(ScriptedModel(["never"]))
    session.emit(ev.SessionEnded(reason="the context could not be compacted"))
    end = asyncio.run(session.run_turn("more"))
    assert end.reason == "error" and session.model.calls == 0
    error = [e for e in session.events if e.kind == "error"][-1]
    assert "--new" in error.hint
    resumed = Session.resume(session.id, ToolRegistry(), model=ScriptedModel([]))
    assert resumed.ended == "the context could not be compacted"


def test_stopping_during_an_approval_wait_resolves_the_approval() -> None:
    @tool
    async def bash(command: str) -> str:
        """Run a command (the policy asks)."""
        return "ran"

    session = make_session(ScriptedModel([{"tool_calls": [call("bash", {"command": "ls"})]}, "done"]), [bash])

    async def scenario():
        task = asyncio.ensure_future(session.run_turn("go"))
        for _ in range(200):
            if session.approvals.pending():
                break
            await asyncio.sleep(0.01)
        session.cancel()
        return await asyncio.wait_for(task, 5)

    end = asyncio.run(scenario())
    assert end.reason == "cancelled" and not session.approvals.pending()
    resolved = [e for e in session.events if e.kind == "approval_resolved"]
    assert len(resolved) == 1 and resolved[0].decision == "denied"
    assert "tool_started" not in kinds(session)


def test_answering_an_approval_from_the_agent_loop_thread_does_not_block() -> None:
    """The UI may call answer_approval from any thread, the agent's own included."""
    import time as _time

    @tool
    async def bash(command: str) -> str:
        """Run a command (the policy asks)."""
        return "ran"

    session = make_session(ScriptedModel([{"tool_calls": [call("bash", {"command": "ls"})]}, "done"]), [bash])

    async def scenario():
        task = asyncio.ensure_future(session.run_turn("go"))
        while not session.approvals.pending():
            await asyncio.sleep(0.01)
        started = _time.monotonic()
        assert session.answer_approval(session.approvals.pending()[0].nonce, "approve")
        assert _time.monotonic() - started < 1
        return await asyncio.wait_for(task, 5)

    assert asyncio.run(scenario()).reason == "done"
    assert "tool_started" in kinds(session)
