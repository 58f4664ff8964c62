"""What the session learned about its models, folded from events the same way live and on resume.

- effort caps: the highest reasoning effort a model accepted (None: none at all), from `effort_fallback`;
- prices the person gave for models litellm cannot price (`price_set`);
- context windows the provider named in a refusal (`context_window_learned`);
- models whose usage had no price (from `usage` with `cost_usd: null`): the "cost unknown" notice is given once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import events as ev

EFFORT_LEVELS = ("low", "medium", "high", "max")


def _rank(level: str) -> int:
    return EFFORT_LEVELS.index(level) if level in EFFORT_LEVELS else len(EFFORT_LEVELS)


def nearest_level(requested: str, allowed: Sequence[str]) -> str | None:
    """The allowed level closest to the requested one, the lower one on a tie; None if none is allowed."""
    if not allowed:
        return None
    if requested in allowed:
        return requested
    return min(allowed, key=lambda level: (abs(_rank(level) - _rank(requested)), _rank(level) > _rank(requested)))


def level_below(level: str, allowed: Sequence[str]) -> str | None:
    lower = [a for a in allowed if _rank(a) < _rank(level)]
    return max(lower, key=_rank) if lower else None


@dataclass
class ProviderState:
    effort_caps: dict[str, str | None] = field(default_factory=dict)
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    windows: dict[str, int] = field(default_factory=dict)
    unpriced: set[str] = field(default_factory=set)

    def apply(self, event: ev.Event) -> None:
        match event:
            case ev.EffortFallback(model=model, effective=effective):
                self.effort_caps[model] = effective
            case ev.PriceSet(model=model, input_per_mtok=price_in, output_per_mtok=price_out):
                self.prices[model] = (price_in, price_out)
            case ev.ContextWindowLearned(model=model, tokens=tokens):
                self.windows[model] = tokens
            case ev.Usage(model=model, cost_usd=None):
                self.unpriced.add(model)

    def learned_events(self) -> list[ev.Event]:
        """What was learned, as the events that teach it: a research sub-agent's log starts with them, so the
        price the person gave, an effort cap or a context window holds for its calls too."""
        events: list[ev.Event] = [ev.PriceSet(model=model, input_per_mtok=price_in, output_per_mtok=price_out)
                                  for model, (price_in, price_out) in self.prices.items()]
        events += [ev.EffortFallback(model=model, effective=cap, reason="learned by the parent session")
                   for model, cap in self.effort_caps.items()]
        events += [ev.ContextWindowLearned(model=model, tokens=tokens) for model, tokens in self.windows.items()]
        return events

    def allowed_efforts(self, model: str, accepted: Sequence[str] | None) -> list[str]:
        """Levels the model may get: what its endpoint accepts (all when unknown), at most its learned cap."""
        levels = list(accepted) if accepted is not None else list(EFFORT_LEVELS)
        if model in self.effort_caps:
            cap = self.effort_caps[model]
            levels = [] if cap is None else [level for level in levels if _rank(level) <= _rank(cap)]
        return levels

    def effort_for(self, model: str, requested: str | None, accepted: Sequence[str] | None) -> str | None:
        if not requested:
            return None
        return nearest_level(requested, self.allowed_efforts(model, accepted))

    def price(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        if model not in self.prices:
            return None
        price_in, price_out = self.prices[model]
        return (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000
