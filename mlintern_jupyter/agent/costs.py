"""Honest cost of a model call: litellm's price, else the price the person gave, else unknown (never $0.00).

An unknown price is said once per model, with what it means for `--budget`: the cap then covers compute only,
unless the person gives a price with `%intern price IN_PER_MTOK OUT_PER_MTOK`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import events as ev
from .models import ModelResponse

if TYPE_CHECKING:
    from .core import SessionCore as Session


def call_cost(session: Session, response: ModelResponse) -> float | None:
    usage = response.usage
    if usage.cost_usd is not None:
        return usage.cost_usd
    return session.provider.price(session.model.name, usage.prompt_tokens, usage.completion_tokens)


def unpriced_notice(session: Session) -> str:
    cap = session.budget.cap_usd
    budget = f" The budget cap (${cap:.2f}) covers compute only for its calls." if cap is not None else ""
    return (f"litellm has no price for {session.model.name}: its usage shows as \"cost unknown\", not $0.00.{budget} "
            "Give its price with `%intern price IN_PER_MTOK OUT_PER_MTOK` (USD per million input / output tokens) "
            "to count it.")


def record_usage(session: Session, response: ModelResponse) -> None:
    """The call's notices and its `usage` event; the first unpriced call of a model adds the notice."""
    for notice in response.notices:
        session.emit(ev.Notice(message=notice, level="warning"))
    cost = call_cost(session, response)
    name = session.model.name
    if cost is None and name not in session.provider.unpriced:
        session.emit(ev.Notice(message=unpriced_notice(session), level="warning"))
    usage = response.usage
    session.emit(ev.Usage(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                          cache_read_tokens=usage.cache_read_tokens, cache_write_tokens=usage.cache_write_tokens,
                          cost_usd=cost, model=response.model or name))
