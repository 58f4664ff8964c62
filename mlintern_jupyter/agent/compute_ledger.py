"""The compute ledger of a session: reservations, unpriced approvals and settlements, each one an event.

A mixin of SessionCore, kept apart because it is the budget's side of the session: the gate holds a call's
worst case before it runs, a job or sandbox settles it when it ends (tools reach it as `ToolContext.ledger`),
and the fold (state.py) applies the events to the Budget. Nothing here changes the budget without its event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from . import events as ev
from .state import SessionState


class ComputeLedgerMixin:
    """Needs the session's state, its lock and its `emit` (SessionCore provides them)."""

    state: SessionState
    _lock: threading.RLock
    emit: Callable[[ev.Event], ev.Event]

    def reserve_compute(self, call_id: str, amount_usd: float) -> bool:
        """Hold a call's worst case; False (nothing held) when it would pass the cap with what is held."""
        with self._lock:
            budget = self.state.budget
            if not self.state.owns_budget:
                return False  # a sub-agent never holds compute against its parent's budget (fail closed)
            if call_id in budget.reservations:
                return True  # one reservation per call
            if not budget.fits(amount_usd):
                return False
            self.emit(ev.ComputeReserved(call_id=call_id, amount_usd=amount_usd))
            return True

    def record_unpriced(self, call_id: str, tool: str, reason: str) -> None:
        """A person approved spending whose cost nobody knows: nothing can be reserved, so it is recorded as
        unpriced (never as $0); under a cap, auto approves no other spending until it settles."""
        with self._lock:
            if self.state.owns_budget and not self.state.budget.holds(call_id):
                self.emit(ev.ComputeUnpriced(call_id=call_id, tool=tool, reason=reason[:300]))

    def release_compute(self, call_id: str, reason: str = "") -> None:
        with self._lock:
            if self.state.budget.holds(call_id):
                self.emit(ev.ComputeReleased(call_id=call_id, reason=reason))

    def settle_compute(self, call_id: str, job_id: str, cost_usd: float | None) -> None:
        """A job or sandbox ended. `cost_usd` comes from the same estimator as the reservation; None (price
        unknown) charges the reserved worst case, never $0."""
        with self._lock:
            budget = self.state.budget
            if call_id in budget.reservations:
                charged = budget.reservations[call_id] if cost_usd is None else max(0.0, cost_usd)
                self.emit(ev.ComputeSettled(call_id=call_id, job_id=job_id, cost_usd=charged))
            elif call_id in budget.unpriced:
                self.emit(ev.ComputeSettled(call_id=call_id, job_id=job_id,
                                            cost_usd=None if cost_usd is None else max(0.0, cost_usd)))
