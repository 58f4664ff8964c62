"""Settings that outlive one command: which reasoning effort a new session gets, and what to tell a person
about the current model's effort and price."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

EFFORT_ENV = "MLINTERN_EFFORT"


def requested_effort(explicit: str | None, chosen: str | None, default: str | None) -> str | None:
    """--effort, else `%intern effort`, else MLINTERN_EFFORT, else the trait; "none" means no reasoning effort."""
    for candidate in (explicit, chosen, os.environ.get(EFFORT_ENV), default):
        if candidate and candidate.strip():
            value = candidate.strip().lower()
            return None if value == "none" else value
    return None


def effort_note(session: Any) -> str:
    """What the current model gets when it accepted less than the session's effort."""
    name = session.model.name
    if name not in session.provider.effort_caps or not session.state.reasoning_effort:
        return "."
    cap = session.provider.effort_caps[name]
    return f" ({name} accepted at most {cap or 'no reasoning effort'}, so it gets the nearest level it takes)."


def budget_note(session: Any) -> str:
    """With a budget and a model litellm cannot price: say what the cap covers, and how to give a price."""
    model = session.model
    known = getattr(model, "price_known", lambda: True)()
    if known or session.budget.cap_usd is None or model.name in session.provider.prices:
        return ""
    return (f"\nNote: litellm has no price for {model.name}, so the budget cap covers compute only. Give the model's "
            "price with %intern price IN_PER_MTOK OUT_PER_MTOK to count its calls.")


@dataclass
class NextSession:
    """What a person chose before any session exists (`%intern model`, `effort`, `budget`): the next new session
    starts with it; an explicit `%%intern` option wins."""

    model: str | None = None
    api_base: str | None = None
    effort: str | None = None
    budget: float | None = None


def status_text(session: Any, *, queued: int = 0) -> str:
    s = session
    pending = s.approvals.pending()
    left = s.budget.left()
    last_end = next((e for e in reversed(s.events) if e.kind == "turn_ended"), None)
    lines = [
        f"session {s.name} ({s.id}) · model {s.model.name}" + (" (demo model)" if s.model.offline else "")
        + f" · effort {s.state.reasoning_effort or 'none'}",
        f"state: {'running' if s.running else 'idle'}" + (f", {queued} queued" if queued else "")
        + (f", last turn ended: {last_end.reason}" if last_end is not None else ""),
        f"tokens {s.usage.prompt_tokens:,} in / {s.usage.completion_tokens:,} out · cache hits "
        f"{s.usage.cache_hit_share:.0%} · LLM ${s.usage.cost_usd:.4f}"
        + (f" + {s.usage.unpriced_calls} call(s) of unknown cost" if s.usage.unpriced_calls else "")
        + f" · compute ${s.budget.compute_spent_usd:.2f}",
        f"budget: {'no cap' if s.budget.cap_usd is None else f'${s.budget.cap_usd:.2f} cap, ${left:.2f} left'}"
        + (f" · {len(s.budget.unpriced)} approved action(s) of unknown cost running" if s.budget.unpriced else "")
        + (f" · {s.budget.unpriced_settled} ended at unknown cost" if s.budget.unpriced_settled else ""),
        f"approve mode {s.state.approve_mode}" + (" (HF jobs that receive your token allowed)"
                                                  if s.state.hf_token_jobs else "")
        + f" · {len(pending)} approval(s) pending · folder {s.dir}",
    ]
    return "\n".join(lines)
