"""Pattern rules for :mod:`mlintern_jupyter.agent.redact`: token shapes, secret-named keys, and the scanner
that runs them. See :mod:`.scanner` for how they are applied."""

from __future__ import annotations

from .keys import KeyClass, classify_key
from .rule import TokenRule
from .scanner import Scanner, Span, replace_spans
from .shapes import PLACEHOLDER_RE, is_placeholder, is_reference, looks_random, placeholder
from .tokens_dev import AI_RULES, CLOUD_RULES, CODE_RULES
from .tokens_saas import COMMERCE_RULES, MESSAGING_RULES, SAAS_RULES, STRUCTURED_RULES
from .values import judge
from .web import WEB_RULES

__all__ = [
    "PLACEHOLDER_RE",
    "KeyClass",
    "Scanner",
    "Span",
    "TokenRule",
    "all_rules",
    "classify_key",
    "compile_scanner",
    "is_placeholder",
    "is_reference",
    "judge",
    "looks_random",
    "placeholder",
    "replace_spans",
]


def all_rules() -> list[TokenRule]:
    """Every token rule, most specific first: when two match the same text, the earlier names the kind."""
    return [
        *STRUCTURED_RULES,
        *AI_RULES,
        *CODE_RULES,
        *CLOUD_RULES,
        *MESSAGING_RULES,
        *COMMERCE_RULES,
        *SAAS_RULES,
        *WEB_RULES,
    ]


def compile_scanner() -> Scanner:
    return Scanner(all_rules())
