"""The line commands about the model's settings: reasoning effort and a price for an unpriced model.

Thin: each validates, then records an event through the session (the engine applies it, live and on resume).
"""

from __future__ import annotations

import os
from typing import Any

EFFORT_ENV = "MLINTERN_EFFORT"


def requested_effort(explicit: str | None, chosen: str | None, default: str | None) -> str | None:
    """--effort, else `%intern effort`, else MLINTERN_EFFORT, else the trait; "none" means no reasoning effort."""
    for candidate in (explicit, chosen, os.environ.get(EFFORT_ENV), default):
        if candidate and candidate.strip():
            value = candidate.strip().lower()
            return None if value == "none" else value
    return None


def set_effort(agent: Any, level: str) -> str:
    agent.chosen_effort = level
    effort = None if level == "none" else level
    session = agent.session
    if session is None:
        return f"The next session uses reasoning effort {level}."
    session.set_effort(effort)
    return f"Reasoning effort set to {level}" + effort_note(session)


def effort_note(session: Any) -> str:
    """What the current model gets when it accepted less than the session's effort."""
    name = session.model.name
    if name not in session.provider.effort_caps or not session.state.reasoning_effort:
        return "."
    cap = session.provider.effort_caps[name]
    return f" ({name} accepted at most {cap or 'no reasoning effort'}, so it gets the nearest level it takes)."


def effort_text(agent: Any, default: str) -> str:
    session = agent.session
    if session is None:
        level = requested_effort(None, agent.chosen_effort, default) or "none"
        return f"Reasoning effort for the next session: {level} (low | medium | high | max | none)."
    return f"Reasoning effort: {session.state.reasoning_effort or 'none'}" + effort_note(session)


def set_price(agent: Any, price_in: float, price_out: float) -> str:
    session = agent.session
    if session is None:
        return "No session yet: start one with %%intern, then give the price of its model."
    if price_in < 0 or price_out < 0:
        return "prices cannot be negative"
    session.set_price(price_in, price_out)
    return (f"{session.model.name} priced at ${price_in:g} in / ${price_out:g} out per million tokens; its calls "
            "from now on count against the budget.")


def budget_note(session: Any) -> str:
    """With a budget and a model litellm cannot price: say what the cap covers, and how to give a price."""
    model = session.model
    known = getattr(model, "price_known", lambda: True)()
    if known or session.budget.cap_usd is None or model.name in session.provider.prices:
        return ""
    return (f"\nNote: litellm has no price for {model.name}, so the budget cap covers compute only. Give the model's "
            "price with %intern price IN_PER_MTOK OUT_PER_MTOK to count its calls.")
