"""Spend ledger and compute prices.

LLM spend is added as observed. A job's or sandbox's worst case (price per hour x hard timeout or lifetime) is
reserved before it starts, released if it fails to start, and settled when it ends with its runtime priced by the
same estimator (or, when that price is unknown, the reserved worst case: never $0). Reservations of one batch
of calls add up, so two jobs cannot jointly pass the cap. Prices come from the Hub's job hardware list, fetched
once per session; an unknown price means an unknown cost, which `auto` never approves. An unknown-cost action a
person approved is recorded as unpriced; while one runs, nothing that spends is known to fit under a cap.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .approval import ActionSpec, normalize

# Float sums of cents must not refuse a job that fits exactly.
EPSILON = 1e-9
_UNIT_HOURS = {"second": 1 / 3600, "minute": 1 / 60, "hour": 1.0}


@dataclass
class Budget:
    cap_usd: float | None = None
    llm_spent_usd: float = 0.0
    compute_spent_usd: float = 0.0
    reservations: dict[str, float] = field(default_factory=dict)
    # Calls a person approved whose cost nobody knows, still running (call id -> what it is).
    unpriced: dict[str, str] = field(default_factory=dict)
    # Unpriced calls that ended with their cost still unknown: spend the figures above do not include.
    unpriced_settled: int = 0

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
        return self.cap_usd is not None and self.committed_usd >= self.cap_usd - EPSILON

    def fits(self, amount: float | None) -> bool:
        """Whether a worst case fits under the cap; an unknown amount never fits (no auto-approval), and under a
        cap nothing that spends fits while an unpriced action runs (what is left is unknown)."""
        if amount is None or amount < 0:
            return False
        if self.cap_usd is not None and self.unpriced and amount > 0:
            return False
        return self.cap_usd is None or self.committed_usd + amount <= self.cap_usd + EPSILON

    def reserve(self, call_id: str, amount: float) -> bool:
        """Hold `amount` for one call; False (nothing held) when it would pass the cap with what is held."""
        if call_id in self.reservations:
            return True  # one reservation per call: a resumed call must not hold twice
        if not self.fits(amount):
            return False
        self.reservations[call_id] = amount
        return True

    def release(self, call_id: str) -> None:
        self.reservations.pop(call_id, None)
        self.unpriced.pop(call_id, None)

    def holds(self, call_id: str) -> bool:
        """Whether a reservation or an unpriced record of this call waits for its settlement."""
        return call_id in self.reservations or call_id in self.unpriced

    def settle(self, call_id: str, actual_usd: float | None) -> None:
        """A job ended: its reservation becomes the real spend (None: an unpriced call whose cost stays unknown)."""
        self.reservations.pop(call_id, None)
        if self.unpriced.pop(call_id, None) is not None and actual_usd is None:
            self.unpriced_settled += 1
        if actual_usd is not None:
            self.compute_spent_usd += max(0.0, actual_usd)

    def add_llm(self, cost_usd: float) -> None:
        self.llm_spent_usd += max(0.0, cost_usd)


class HardwarePrices:
    """USD per hour per job flavour from `HfApi.list_jobs_hardware`, fetched once and cached for the session.

    A failed fetch is remembered too, so a turn does not hammer the Hub: every price is then unknown, nothing
    is auto-approved, and the next session tries again.
    """

    def __init__(self, fetch: Callable[[], list[Any]]) -> None:
        self._fetch = fetch
        self._prices: dict[str, float] | None = None
        self.error: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_hf_api(cls, api: Any) -> HardwarePrices:
        return cls(api.list_jobs_hardware)

    def load(self) -> dict[str, float]:
        with self._lock:
            if self._prices is None:
                prices: dict[str, float] = {}
                try:
                    for info in self._fetch():
                        per_hour = _per_hour(info)
                        if per_hour is not None:
                            prices[normalize(_field(info, "name"))] = per_hour
                except Exception as exc:  # noqa: BLE001 - no prices means no auto-approval, not a crash
                    self.error = f"{type(exc).__name__}: {exc}"[:300]
                self._prices = prices
            return self._prices

    async def aload(self) -> dict[str, float]:
        """Load off the event loop: the Hub call is blocking HTTP."""
        if self._prices is not None:
            return self._prices
        return await asyncio.to_thread(self.load)

    def per_hour(self, flavor: str) -> float | None:
        return self.load().get(normalize(flavor))


def _field(info: Any, name: str, camel: str | None = None) -> Any:
    if isinstance(info, dict):
        return info.get(name, info.get(camel or name))
    return getattr(info, name, None)


def _per_hour(info: Any) -> float | None:
    unit_cost = _field(info, "unit_cost_usd", "unitCostUSD")
    unit = str(_field(info, "unit_label", "unitLabel") or "").lower()
    if not isinstance(unit_cost, int | float) or isinstance(unit_cost, bool) or unit_cost < 0 or unit not in _UNIT_HOURS:
        return None
    return float(unit_cost) / _UNIT_HOURS[unit]


class CostEstimator:
    """`(spec) -> worst-case USD or None`, for `session.services.cost_estimator`.

    Local jobs cost nothing; an HF job costs price per hour x its hard timeout; a GPU sandbox price per hour x its
    capped lifetime (Spaces bill the same hardware at the same hourly prices); anything without a known price or
    timeout (scheduled jobs repeat without end) is None: unknown. Settlements price a runtime with the same
    object (`runtime_cost`), so the estimate and the settlement never disagree about a price.
    """

    def __init__(self, prices: HardwarePrices, default_timeout_s: int | None = None) -> None:
        self.prices = prices
        # The timeout the job tool applies when the model gives none; None means "unknown, ask".
        self.default_timeout_s = default_timeout_s

    async def prefetch(self) -> None:
        await self.prices.aload()

    def __call__(self, spec: ActionSpec) -> float | None:
        if spec.tool == "sandbox_create":
            return self._priced(spec.hardware_flavor, spec.timeout_s)
        if spec.tool != "hf_jobs":
            return None
        if spec.runtime == "local":
            return 0.0
        if spec.operation not in ("run", "uv"):
            return None
        return self._priced(spec.hardware_flavor, spec.timeout_s or self.default_timeout_s)

    def _priced(self, flavor: str, seconds: int | None) -> float | None:
        price = self.prices.per_hour(flavor) if flavor else None
        if price is None or not seconds:
            return None
        return round(price * seconds / 3600, 6)


def price_per_hour(estimator: Any, spec: ActionSpec | None) -> float | None:
    """The hourly price of an action from the session's estimator, the source of its worst case; None unknown."""
    if estimator is None or spec is None:
        return None
    try:
        price = estimator(spec.model_copy(update={"timeout_s": 3600}))
    except Exception:  # noqa: BLE001 - a broken estimator means an unknown price, charged at the worst case
        return None
    return float(price) if isinstance(price, int | float) and not isinstance(price, bool) and price >= 0 else None


def cost_estimator_for(api: Any, default_timeout_s: int | None = None) -> CostEstimator:
    """The estimator for a session talking to the Hub through `api` (an `HfApi`)."""
    return CostEstimator(HardwarePrices.from_hf_api(api), default_timeout_s)
