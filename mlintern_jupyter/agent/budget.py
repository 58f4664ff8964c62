"""Spend ledger: LLM spend added as observed, compute spend reserved before launch.

A job's worst case (price per hour x hard timeout) is reserved before it starts, released if it fails to
start, and settled with the real figure when it ends. Reservations of one batch of calls add up, so two jobs
cannot jointly pass the cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Budget:
    cap_usd: float | None = None
    llm_spent_usd: float = 0.0
    compute_spent_usd: float = 0.0
    reservations: dict[str, float] = field(default_factory=dict)

    @property
    def compute_reserved_usd(self) -> float:
        return sum(self.reservations.values())

    @property
    def committed_usd(self) -> float:
        return self.llm_spent_usd + self.compute_spent_usd + self.compute_reserved_usd

    def left(self) -> float | None:
        return None if self.cap_usd is None else max(0.0, self.cap_usd - self.committed_usd)

    @property
    def exhausted(self) -> bool:
        return self.cap_usd is not None and self.committed_usd >= self.cap_usd

    def fits(self, amount: float | None) -> bool:
        """Whether a worst case fits under the cap; an unknown amount never fits (no auto-approval)."""
        if amount is None:
            return False
        return self.cap_usd is None or self.committed_usd + amount <= self.cap_usd + 1e-9

    def reserve(self, call_id: str, amount: float) -> bool:
        if not self.fits(amount):
            return False
        self.reservations[call_id] = amount
        return True

    def release(self, call_id: str) -> None:
        self.reservations.pop(call_id, None)

    def settle(self, call_id: str, actual_usd: float) -> None:
        self.reservations.pop(call_id, None)
        self.compute_spent_usd += max(0.0, actual_usd)

    def add_llm(self, cost_usd: float) -> None:
        self.llm_spent_usd += max(0.0, cost_usd)
