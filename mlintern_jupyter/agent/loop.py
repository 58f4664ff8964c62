"""The agent loop, readable top to bottom (DESIGN section 4).

guards -> model call (streamed) -> parse and validate tool calls -> classify into ActionSpecs -> approvals ->
execute concurrently -> results in call order -> guards again. Cancellation can land at every await; the
handler gives every open tool call an aborted result so the next model request is valid.

There is one approval path: `gate` (approval_gate.py), which every call passes, a continued one included.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, cast

from . import context
from . import events as ev
from .approval import Resolution, classify
from .approval_gate import AwaitingPerson, PreparedCall, gate
from .context import CompactionFailedError
from .core import SessionCore as Session
from .guards import CallRecord
from .messages import ToolCallPart
from .model_call import TRUNCATED, call_model, describe_failure
from .models import ModelConfigError
from .policy import policy
from .tooling import SubAgentRunner, ToolArgumentsError, ToolContext, ToolError, needs_no_approval
from .upload_consent import CONSENT_CALL


class TurnOver(Exception):
    def __init__(self, reason: ev.TurnEndReason, message: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


async def run_turn(session: Session, prompt: str | None, *, cell_id: str | None = None,
                   kernel_digest: str | None = None) -> ev.TurnEnded:
    """Run one prompt to its end. `prompt=None` continues a turn whose approvals were answered later."""
    session.turn_began()
    iterations = 0
    try:
        if session.ended is not None:
            session.emit(ev.Error(message=f"This session has ended ({session.ended}).", error_type="session_ended",
                                  hint="start a new one with %%intern --new"))
            raise TurnOver("error", "session ended")
        if prompt is not None:
            if not prompt.strip():
                session.emit(ev.Error(message="The prompt is empty: write a task under %%intern.",
                                      error_type="empty_prompt"))
                raise TurnOver("error", "empty prompt")
            _supersede_pending(session)
            session.repair()
            session.emit(ev.UserPrompt(text=prompt, cell_id=cell_id, kernel_digest=kernel_digest))
        session.guards.new_turn()
        invalid_calls = 0
        if prompt is None:
            # A continuation: calls whose approvals were answered since take the same gate as any call.
            waiting = session.continuable_calls()
            session.repair(keep_pending=True)
            if waiting:
                invalid_calls += await _handle_calls(session, waiting, announced=True)
        while True:
            # 1. guards
            if iterations >= session.state.max_iterations:
                raise TurnOver("max_iterations", f"stopped after {iterations} model calls (--max-iterations); "
                               "send another %%intern prompt to continue")
            if session.budget.exhausted:
                session.set_budget(session.budget.cap_usd)
                raise TurnOver("budget", f"the budget of ${session.budget.cap_usd:.2f} is used up; raise it with "
                               "%intern budget USD and send a prompt to continue")
            compacted = context.over_threshold(session)
            if compacted:  # compact before the provider overflows, at most once per model call
                await context.compact(session, "the context reached 90% of the model's window")
            # 2. model call
            response = await call_model(session, may_compact=not compacted)
            iterations += 1
            if response.finish_reason == TRUNCATED:
                continue  # the cut calls were dropped and the model was told how to split the work
            if not response.tool_calls:
                nudge = session.guards.on_text_answer(session.plan)
                if nudge is None:
                    raise TurnOver("done")
                session.emit(ev.GuardFired(guard=nudge.guard, message=nudge.message))
                continue
            # 3-5. tool calls
            invalid_calls += await _handle_calls(session, list(response.tool_calls))
            if invalid_calls >= session.config.max_invalid_calls:
                raise TurnOver("error", f"the model made {invalid_calls} invalid tool calls in this run (bad JSON, "
                               "schema violations or unknown tools); stopping instead of looping")
    except TurnOver as over:
        return _end(session, over.reason, iterations, over.message)
    except CompactionFailedError as exc:
        session.repair()
        session.emit(ev.Error(message=f"The context cannot be compacted: {exc}", error_type="compaction_failed",
                              hint="start a new session (%%intern --new), or switch to a model with a larger "
                                   "context window (%intern model NAME)"))
        ended = _end(session, "error", iterations, str(exc))
        session.emit(ev.SessionEnded(reason=f"compaction failed: {exc}"[:500]))
        return ended
    except ModelConfigError as exc:
        session.emit(ev.Error(message=str(exc), error_type="model_config", hint=exc.hint))
        return _end(session, "error", iterations, str(exc))
    except asyncio.CancelledError:
        session.repair()
        return _end(session, "cancelled", iterations, "stopped by the user")
    except Exception as exc:  # noqa: BLE001 - a provider or tool-layer failure ends the turn, visibly
        session.repair()
        message, error_type, hint = describe_failure(session, exc)
        session.emit(ev.Error(message=message, error_type=error_type, hint=hint))
        return _end(session, "error", iterations, message[:500])


def _supersede_pending(session: Session) -> None:
    """A new prompt denies the approvals still waiting; their calls get a denied result, never a late run. The
    machine's trace-upload consent belongs to no turn: it waits for its answer (or expiry) across prompts, else
    a person who types on before answering would never have the session uploaded."""
    open_calls = {c.id: c for c in session.state.open_calls()}
    for record in session.approvals.pending():
        if record.call_id == CONSENT_CALL:
            continue
        session.resolve_approval(Resolution(record, "superseded", "a new prompt arrived"), by="person")
        call = open_calls.get(record.call_id)
        if call is not None:
            session.emit(ev.ToolResult(call_id=call.id, tool=call.name, ok=False, status="denied",
                                       content="The action was superseded by a new prompt and did not run."))


def _end(session: Session, reason: ev.TurnEndReason, iterations: int, message: str) -> ev.TurnEnded:
    session.turn_finished()
    return session.emit(ev.TurnEnded(reason=reason, iterations=iterations, message=message))  # type: ignore[return-value]


def _prepare(session: Session, call: ToolCallPart, announced: bool = False) -> PreparedCall:
    """Parse, validate and classify one call; errors become results, never executions. `announced`: its
    tool_call event was recorded before (a call continued after its approval was answered). The decision made
    here only tells whether the batch spends (to fetch prices once); `_fix_action` decides on the exact action."""
    prepared = PreparedCall(call, announced=announced)
    try:
        raw = call.parsed()
    except json.JSONDecodeError as exc:
        if not announced:
            session.emit(ev.ToolCall(call_id=call.id, tool=call.name, arguments=call.arguments))
        prepared.error = f"the arguments are not valid JSON ({exc.msg} at position {exc.pos}); send a JSON object"
        return prepared
    if not announced:
        session.emit(ev.ToolCall(call_id=call.id, tool=call.name,
                                 arguments=raw if isinstance(raw, dict) else call.arguments))
    prepared.tool = session.tools.get(call.name)
    if prepared.tool is None:
        prepared.error = f"unknown tool {call.name!r}; available tools: {', '.join(sorted(session.tools.names))}"
        return prepared
    try:
        prepared.arguments = prepared.tool.validate(raw)
    except ToolArgumentsError as exc:
        prepared.error = str(exc)
        return prepared
    prepared.spec = classify(call.name, prepared.arguments)
    prepared.decision = policy(prepared.spec, session.policy_config(),
                               declared_read_only=needs_no_approval(prepared.tool))
    return prepared


async def _fix_action(session: Session, prepared: PreparedCall) -> None:
    """The exact action this call will run, decided before any card. A call continued after its answer takes the
    action its card showed; any other call is resolved now by its tool (a script path or URL becomes the script's
    bytes, a Hub write learns the repo's visibility), so the card, the hash and the executor see the same thing
    and an `edit` later in the batch cannot change what runs. A ToolError here is the call's result."""
    assert prepared.tool is not None and prepared.arguments is not None
    record = session.approvals.for_call(prepared.call.id) if prepared.announced else None
    if record is not None and not record.used:
        prepared.spec = record.spec
        prepared.arguments = prepared.tool.validate(json.loads(record.spec.arguments_json))
    else:
        resolved = await prepared.tool.resolve(prepared.arguments, _context(session, prepared))
        prepared.arguments = prepared.tool.validate(resolved.arguments)
        prepared.spec = classify(prepared.call.name, prepared.arguments).model_copy(
            update={"visibility": resolved.visibility})
        prepared.note = resolved.note
    prepared.decision = policy(prepared.spec, session.policy_config(),
                               declared_read_only=needs_no_approval(prepared.tool))


PREFLIGHT_TIMEOUT_S = 30.0


async def _preflight(session: Session, prepared: PreparedCall) -> list[str]:
    """The tool's pre-launch checks; a check that cannot run says so (it never blocks the call)."""
    check = getattr(prepared.tool, "preflight", None)
    if check is None or prepared.arguments is None:
        return []
    try:
        return list(await asyncio.wait_for(check(prepared.arguments, _context(session, prepared)),
                                           PREFLIGHT_TIMEOUT_S))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a failing check is a fact for the card, not a failed call
        return [f"the pre-launch checks could not run ({type(exc).__name__}: {exc})"]


def with_checks(content: str, checks: list[str]) -> str:
    if not checks:
        return content
    return content + "\n\nPre-launch checks (warnings; they did not block):\n" + "\n".join(f"- {c}" for c in checks)


def _context(session: Session, prepared: PreparedCall) -> ToolContext:
    """The typed dependencies a tool gets: never the session itself."""
    subagents = cast(SubAgentRunner, session) if hasattr(session, "open_subagent") else None
    return ToolContext(session_id=session.id, call_id=prepared.call.id, workspace=session.workspace,
                       emit=session.emit, services=session.services, scripts=session.scripts, ledger=session,
                       subagents=subagents, redactor=session.redactor, anchor_cell_id=session.anchor_cell_id,
                       action=prepared.spec, approved_by=prepared.approved_by,
                       hf_token_jobs=session.policy_config().hf_token_jobs)


async def _run_call(session: Session, prepared: PreparedCall) -> tuple[str, bool, str]:
    """(status, ok, content) of one call: fixed, gated, then run."""
    call = prepared.call
    if prepared.error is not None:
        return "invalid", False, f"Error: {prepared.error}"
    try:
        await _fix_action(session, prepared)
    except ToolArgumentsError as exc:
        return "invalid", False, f"Error: {exc}"
    except ToolError as exc:
        return "error", False, f"Error: {exc}"
    except Exception as exc:  # noqa: BLE001 - a failing resolution is data for the model, nothing ran
        return "error", False, f"Error: {type(exc).__name__}: {exc}"
    prepared.checks = await _preflight(session, prepared)
    denial = await gate(session, prepared)
    if denial is not None:
        return "denied", False, denial
    assert prepared.tool is not None and prepared.arguments is not None
    # Recorded before the tool runs; it also marks the approval used (never twice).
    session.emit(ev.ToolStarted(call_id=call.id, tool=call.name))
    status, ok, content = "error", False, ""
    try:
        result = await prepared.tool.run(prepared.arguments, _context(session, prepared))
        ok, content, prepared.polling = result.ok, result.content, result.polling
        status = "ok" if ok else "error"
    except ToolError as exc:
        content = f"Error: {exc}"
    except (asyncio.CancelledError, AwaitingPerson):
        raise
    except Exception as exc:  # noqa: BLE001 - a failing tool is data for the model
        content = f"Error: {type(exc).__name__}: {exc}"
    finally:
        if not ok:
            session.release_compute(call.id, "the call failed")
    return status, ok, content


async def _execute(session: Session, prepared: PreparedCall) -> CallRecord:
    call = prepared.call
    started = time.monotonic()
    try:
        status, ok, content = await _run_call(session, prepared)
    except asyncio.CancelledError:
        record = prepared.record
        if record is not None and record.decision is None:
            # Stopped while waiting for a person: the card must not stay pending for an action that will never run.
            session.resolve_approval(Resolution(record, "denied", "the run was stopped"), by="person")
        session.emit(ev.ToolResult(call_id=call.id, tool=call.name, ok=False, status="aborted",
                                   content="Tool call aborted: the run was cancelled.",
                                   duration_s=round(time.monotonic() - started, 3)))
        raise
    content = context.cap_tool_output(session, call.id, with_checks(content, prepared.checks))
    session.emit(ev.ToolResult(call_id=call.id, tool=call.name, ok=ok, status=status, content=content,  # type: ignore[arg-type]
                               duration_s=round(time.monotonic() - started, 3)))
    arguments = prepared.arguments if prepared.arguments is not None else call.arguments
    return CallRecord(call.name, arguments, content, ok, status, polling=prepared.polling)


async def _handle_calls(session: Session, calls: list[ToolCallPart], announced: bool = False) -> int:
    """Run one batch; returns how many calls were invalid."""
    prepared = [_prepare(session, call, announced) for call in calls]
    estimator: Any = session.services.cost_estimator
    if hasattr(estimator, "prefetch") and any(p.decision is not None and p.decision.spends for p in prepared):
        await estimator.prefetch()  # the Hub's price list, fetched once off the event loop
    tasks = [asyncio.ensure_future(_execute(session, p)) for p in prepared]
    try:
        records = await asyncio.gather(*tasks)
    except AwaitingPerson:
        # Let the calls that need no person finish; the others stay open with their approvals pending.
        await asyncio.gather(*tasks, return_exceptions=True)
        raise TurnOver("awaiting_approval", "waiting for approval: answer on the card, the turn continues then") from None
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    for message in session.guards.after_batch(records):
        session.emit(ev.GuardFired(guard=message.guard, message=message.message))
    return sum(1 for p in prepared if p.error is not None)
