"""The approval gate: the one path by which a tool call is approved, denied or left waiting for a person.

The loop prepares each call (parsed, validated, its exact action fixed) and asks `gate` whether it may run. A call
whose approval was answered while no turn ran (after --wait, or before a kernel restart) is taken up by a
continuation (`run_turn(session, None)`) and passes the same gate, which finds the decision already recorded.
What may be spent is held here too, before the call starts: a reservation, or an unpriced record.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .approval import ActionSpec, ApprovalRecord, Resolution, classify
from .core import SessionCore as Session
from .messages import ToolCallPart
from .policy import PolicyDecision
from .tooling import Tool, ToolArgumentsError


@dataclass
class PreparedCall:
    """One tool call on its way to a result: the loop fills in the parse and the action, the gate the decision."""

    call: ToolCallPart
    tool: Tool | None = None
    arguments: dict[str, Any] | None = None
    error: str | None = None
    spec: ActionSpec | None = None
    decision: PolicyDecision | None = None
    record: ApprovalRecord | None = None
    # Who approved it ("person" or "policy"); None when no approval was needed.
    approved_by: str | None = None
    # Continued after its approval was answered: its tool_call (and maybe its decision) is in the log.
    announced: bool = False
    # Shown on the card: where a resolved script came from (a workspace file, a URL).
    note: str = ""
    # The result only said "nothing new yet" about something still running (see ToolResult.polling).
    polling: bool = False
    # The tool's pre-launch checks: facts on the approval card and after the result, never a block.
    checks: list[str] = field(default_factory=list)


def estimate_cost(session: Session, spec: ActionSpec, decision: PolicyDecision) -> float | None:
    """Worst-case compute cost of an action; None when unknown (then `auto` never approves it)."""
    if not decision.spends:
        return 0.0
    estimator = session.services.cost_estimator
    return estimator(spec) if estimator is not None else None


def _ask(session: Session, prepared: PreparedCall) -> ApprovalRecord:
    """Record the approval request; the fold creates its record (nonce, hash, expiry)."""
    assert prepared.spec is not None and prepared.decision is not None
    cost = estimate_cost(session, prepared.spec, prepared.decision)
    reason = prepared.decision.reason + (f"; {prepared.note}" if prepared.note else "")
    return session.request_approval(prepared.call.id, prepared.call.name, prepared.spec, cost, reason,
                                    checks=prepared.checks)


async def gate(session: Session, prepared: PreparedCall) -> str | None:
    """Decide one call: the only approval path. Returns None to run it, or the text of a denial result.

    A call continued after its answer arrived finds its record already decided; everything after that (the
    binding checks, the budget, the denial text with the person's feedback) is the same code for every call."""
    assert prepared.spec is not None and prepared.decision is not None
    record = session.approvals.for_call(prepared.call.id) if prepared.announced else None
    if record is None or record.used:
        if not prepared.decision.needs_approval:
            return _hold(session, prepared, estimate_cost(session, prepared.spec, prepared.decision), by=None)
        record = _ask(session, prepared)
    prepared.record = record
    if record.decision is None:
        mode = session.state.approve_mode
        cost = record.cost_usd
        if mode == "deny":
            session.resolve_approval(Resolution(record, "denied", "approve mode is 'deny'"), by="policy")
        elif mode == "auto" and prepared.decision.auto_allowed and session.budget.fits(cost):
            session.resolve_approval(Resolution(record, "approved"), by="policy")
        elif mode == "auto" and not prepared.decision.person_in_auto:
            session.resolve_approval(Resolution(record, "denied", _not_auto(session, prepared.decision, cost)),
                                     by="policy")
        elif not session.config.person_present:
            raise AwaitingPerson()
        else:
            await _wait_for(session, record)
    if record.decision != "approved" or record.approved_spec is None:
        who = "Feedback from the person" if record.decided_by == "person" else "Why"
        why = f" {who}: {record.feedback}" if record.feedback else ""
        return f"The action was {record.decision or 'denied'} and did not run.{why}"
    # What runs is exactly what was approved (an edited script included): its arguments come from the approval.
    approved = record.approved_spec
    assert prepared.tool is not None
    try:
        prepared.arguments = prepared.tool.validate(json.loads(approved.arguments_json))
    except (ToolArgumentsError, ValueError):
        return "The approval did not match the action about to run, so nothing ran."
    prepared.spec = classify(prepared.call.name, prepared.arguments).model_copy(
        update={"visibility": approved.visibility})
    if not session.approvals.can_consume(record, prepared.spec):
        return "The approval did not match the action about to run, so nothing ran."
    return _hold(session, prepared, record.cost_usd, by=record.decided_by)


def _not_auto(session: Session, decision: PolicyDecision, cost: float | None) -> str:
    """Why `auto` refused an action, in words that say what would change the answer."""
    if not decision.auto_allowed:
        return f"auto mode does not cover this action ({decision.reason}; cost {_money(cost)})"
    if cost is None:
        return f"auto mode never approves a cost unknown in advance ({decision.reason})"
    busy = ("; an approved action of unknown cost is still running, so what is left is unknown"
            if session.budget.unpriced else "")
    return f"its worst case ({_money(cost)}) does not fit in the budget left ({_money(session.budget.left())}){busy}"


def _money(amount: float | None) -> str:
    return "unknown" if amount is None else f"${amount:.2f}"


def _hold(session: Session, prepared: PreparedCall, cost: float | None, by: str | None) -> str | None:
    """Hold what the action may spend before it starts: its worst case reserved against the cap, or, for a
    person-approved action nobody can price, an unpriced record. None to run it, else a denial."""
    assert prepared.decision is not None
    prepared.approved_by = by
    if not prepared.decision.spends:
        return None
    if cost is None:
        if by != "person":
            return "Not run: its cost is unknown, and only a person can approve spending of unknown cost."
        session.record_unpriced(prepared.call.id, prepared.call.name, prepared.decision.reason)
        return None
    if cost and not session.reserve_compute(prepared.call.id, cost):
        left = session.budget.left()
        busy = " (an action of unknown cost is still running)" if session.budget.unpriced else ""
        return f"Not run: its worst case (${cost:.2f}) does not fit in the budget left (${left or 0:.2f}){busy}."
    return None


class AwaitingPerson(Exception):
    """Under --wait nobody can click: the turn ends and the approval stays pending."""


async def _wait_for(session: Session, record: ApprovalRecord) -> None:
    future = session.waiter_for(record)
    remaining = (record.expires_at - datetime.now(UTC)).total_seconds()
    try:
        await asyncio.wait_for(asyncio.shield(future), timeout=max(0.0, remaining))
    except TimeoutError:
        session.resolve_approval(Resolution(record, "expired"), by="policy")
