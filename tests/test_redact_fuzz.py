"""No rule can backtrack catastrophically, and pathological input keeps every guarantee.

Speed itself is measured in tests/bench_redact.py (worst pathological input per MB, in BENCHMARKS.md); here:
(1) a static check that no pattern nests an unbounded repetition inside another or follows one unbounded,
non-possessive repetition by another over overlapping characters (the shapes that backtrack
exponentially or quadratically); (2) hypothesis-built pathological inputs (needles, operators, quotes and
escapes repeated, tens of KB) on which redaction finishes (the suite's per-test timeout catches a hang),
stays idempotent, and still masks a registered secret and a token planted in the noise.
"""

from __future__ import annotations

import json
import re
import re._constants as C  # type: ignore[import-not-found]
import re._parser as P  # type: ignore[import-not-found]

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlintern_jupyter.agent.redact import Redactor
from mlintern_jupyter.agent.redact_rules import all_rules, context, guard, lines, needles, scanner, shapes, values
from tests.redact_helpers import ALNUM, rand

UNBOUNDED = C.MAXREPEAT
REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)


def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    rules = [(f"{r.kind}: {r.source}", r.regex) for r in all_rules()]
    named = {f"{module.__name__.rsplit('.', 1)[-1]}.{name}": getattr(module, name)
             for module in (context, guard, lines, scanner, values, shapes) for name in dir(module) if name.endswith("_RE")}
    return rules + [(n, p) for n, p in named.items() if isinstance(p, re.Pattern)]


def _nested_unbounded(items: P.SubPattern, inside_unbounded: bool = False) -> bool:
    """True when an unbounded repeat sits inside another unbounded, non-possessive repeat."""
    for op, av in items:
        if op in REPEATS:
            low, high, sub = av
            unbounded = high == UNBOUNDED
            if inside_unbounded and unbounded:
                return True
            # A possessive or atomic repeat never gives characters back, so what it contains cannot multiply.
            if _nested_unbounded(sub, (inside_unbounded or unbounded) and op != C.POSSESSIVE_REPEAT):
                return True
        elif op == C.SUBPATTERN:
            if _nested_unbounded(av[-1], inside_unbounded):
                return True
        elif op == C.ATOMIC_GROUP:
            if _nested_unbounded(av, False):
                return True
        elif op == C.BRANCH:
            if any(_nested_unbounded(branch, inside_unbounded) for branch in av[1]):
                return True
        elif op in (C.ASSERT, C.ASSERT_NOT) and _nested_unbounded(av[1], inside_unbounded):
            return True
    return False


@pytest.mark.parametrize(("name", "pattern"), _patterns(), ids=lambda x: x if isinstance(x, str) else "")
def test_no_nested_unbounded_repetition(name: str, pattern: re.Pattern[str]) -> None:
    assert not _nested_unbounded(P.parse(pattern.pattern, pattern.flags)), f"{name}: {pattern.pattern}"


def test_every_token_pattern_starts_with_its_literal() -> None:
    """The engine scans for a leading literal at memory speed; a pattern opening with a lookbehind or a class
    is tried at every position of its window (the 100x slowdown of the first version of this scanner)."""
    for rule in all_rules():
        first_op, _ = P.parse(rule.regex.pattern, rule.regex.flags)[0]
        assert first_op in (C.LITERAL, C.BRANCH, C.SUBPATTERN, C.IN, C.MAX_REPEAT), rule.kind
        assert first_op not in (C.ASSERT, C.ASSERT_NOT), rule.kind


NEEDLES = [
    "hf_", "sk-", "ghp_", "AKIA", "eyJ", "xoxb-", "token", "password", "key", "secret", "auth", "Bearer ", "Basic ",
    "://", "-u ", "--user=", "Q~", "|", "-us", ".atlasv1.", "s.", "AAAA", "_mmk", "<password>", "</", "name: ", "value: ",
    "sig=", "-----BEGIN PRIVATE KEY-----", "-----END", "\\\"", "\"", "'", "`", "=", ":", "::=", ":::=", "?=", ".=",
    "(", ")", "[", "]", "{", "}", ",", ";", "&", "@", "/", "\\", "\n", "\r\n", " ", "\t", "\x1b[31m", "a", "Z", "0",
    "9", "_", "-", ".", "~", "+", "$", "${", "[REDACTED:X]", "export ", "machine x login y ", "Authorization: ",
]
_UNIT = st.lists(st.sampled_from(NEEDLES), min_size=1, max_size=12).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(unit=_UNIT, size=st.integers(min_value=1_000, max_value=40_000))
# Found by CI: this unit seeds a token whose random body holds "FaKe", then taken for a placeholder word.
@example(unit="token-----END(\t9-----END9((", size=1_000)
def test_pathological_repetition_keeps_the_guarantees(unit: str, size: int) -> None:
    secret = "correct-horse-Battery-staple-42"
    token = "gh" + "p_" + rand(ALNUM, 36, unit)
    noise = (unit * (size // len(unit) + 1))[:size]
    text = noise + "\n" + secret + "\n" + f"use {token} here" + "\n" + noise
    redactor = Redactor({"DB_PASSWORD": secret})
    out = redactor.redact(text)
    assert secret not in out and token not in out
    assert redactor.redact(out) == out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.sampled_from(NEEDLES), min_size=1, max_size=400))
def test_random_mixtures_are_idempotent(parts: list[str]) -> None:
    redactor = Redactor()
    text = "".join(parts)
    once = redactor.redact(text)
    assert redactor.redact(once) == once


def test_past_the_judging_budget_known_benign_keys_stay_readable() -> None:
    """A log made of key/value pairs can spend a scan's judging budget (a bound on time per MB). Past it,
    values are masked unjudged (fail closed), except under keys the scan already found not to name a secret:
    a megabyte of usage records keeps its token counts, and secrets after the budget are still masked, also
    one nested in a benign key's value."""
    line = json.dumps({"usage": {"prompt_tokens": 1290, "completion_tokens": 712, "total_tokens": 2002,
                                 "cache_read_input_tokens": 0, "max_tokens": 4096, "tokenizer": "gpt2", "token_id": 7},
                       "params": [{"name": "lr", "value": 0.001}], "secret_key_name": "HF_TOKEN"})
    log = "\n".join([line] * (1_000_000 // len(line)))
    assert sum(1 for _ in context.ASSIGN_RE.finditer(log.lower())) > 2 * scanner.judging_budget(len(log))[0]
    redactor = Redactor()
    assert redactor.redact(log) == log
    token = "hf_" + rand(ALNUM, 34, "budget")
    password = "Tr0ub4dor&3-" + rand(ALNUM, 8, "budget")
    tail = f'\n{{"prompt_tokens": "api_key={token}", "new_password": "{password}", "tokenizer": "x"}}'
    out = redactor.redact(log + tail)
    assert out.startswith(log) and token not in out and password not in out and '"tokenizer": "x"' in out


def test_past_every_budget_nothing_survives() -> None:
    """Text made of nothing but secret assignments spends the judging budget, then the checking budget; what
    is left of each window is masked whole. No secret survives at any point of it."""
    tokens = [rand(ALNUM, 12, f"flood{i}") for i in range(60_000)]
    text = "&".join(f"pwd={t}" for t in tokens)
    _, checked, judged, _, _ = scanner.judging_budget(len(text))
    assert len(tokens) > judged + checked
    out = Redactor().redact(text)
    assert not any(t in out for t in tokens)


def test_a_generated_token_body_holding_a_placeholder_word_by_chance_is_still_a_token() -> None:
    redactor = Redactor({})
    for token in ("gh" + "p_gKJQKcxFaKeWQ6HxQmULFMc0ASLMXzCM1cGz", "gh" + "p_q8dummyR2x7ZpLw0aT5vKc9mN3bY6hJ1fG4sDe"):
        assert token not in redactor.redact(f"use {token} here"), token
    # Written as words, they still mark a documentation stand-in.
    for stand_in in ("AKIAIOSFODNN7EXAMPLE", "sk-your-key-here", "gh" + "p_EXAMPLE0123456789abcdefghijklmnopqrs"):
        assert stand_in in redactor.redact(f"use {stand_in} here"), stand_in


def test_needles_are_found_block_by_block() -> None:
    """The automaton runs block by block (needles.BLOCK): a needle across a block boundary is found
    once, and past the dense threshold, where only which needles occur matters, a needle first seen many
    blocks in is found too (the search there leaves out the needles already seen)."""
    index = Redactor()._scanner._needles
    block = needles.BLOCK
    token = "gh" + "p_" + rand(ALNUM, 36, "blocks")

    def direct(low: str) -> list[tuple[int, int, int]]:
        return sorted(index.automaton.find_matches_as_indexes(low, overlapping=True))

    sparse = "." * (block - 2) + f" {token} " + "word " * block
    hits, dense = index.find(sparse.lower(), len(sparse) // scanner.DENSE_SPACING)
    assert dense is None and sorted(hits) == direct(sparse.lower())
    assert any(start < block < end for _, start, end in hits)
    crowded = "key=1&" * (3 * block // 6) + "password: x\n" * (block // 12) + f"use {token} here\n"
    hits, dense = index.find(crowded.lower(), len(crowded) // scanner.DENSE_SPACING)
    assert hits == [] and dense == {needle for needle, _, _ in direct(crowded.lower())}
    for text in (sparse, crowded):
        assert token not in Redactor().redact(text)


_GUARDED = [
    r"(?i)example|your[_-]?(?:own|api|key)|<[a-z_ -]{2,40}>|_here\b|\*\*\*|\.\.\.|sk(?:ip)+|[x-z]{3}",
    r"ab|a?c",  # may start with either: the guard must list both
    r"\w+|#",  # a category first: no guard
]


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="exampleyourkisKſıİ_-<>*. #abcxyzXYZ\n", max_size=200))
def test_a_first_char_guard_finds_the_same_matches(text: str) -> None:
    """guard.first_char_guard (in front of the placeholder-word search) changes where the regex engine
    looks, never what it finds: also under (?i), where `K` (Kelvin), `ſ`, `ı` and `İ` match ASCII letters."""
    for pattern in _GUARDED:
        plain = re.compile(pattern)
        guarded = guard.first_char_guard(plain)
        assert [m.span() for m in guarded.finditer(text)] == [m.span() for m in plain.finditer(text)]
    assert guard.first_char_guard(re.compile(_GUARDED[2])).pattern == _GUARDED[2]
    assert guard.first_char_guard(re.compile(_GUARDED[0])).pattern.startswith("(?=[")


@pytest.mark.parametrize("filler", [2_500, 20_000])  # needles dense (one per 128 characters) or sparse
def test_past_the_budget_an_authorization_header_is_masked_past_its_scheme(filler: int) -> None:
    """Unjudged (past the judging budget), a header's value is not just its first word: `Bearer` masked and
    the credential after it left was the leak. This token's letters alone do not pass the bearer rule's
    shape check, so only the context rule can mask it."""
    # More distinct values than the judging budget, far fewer candidates than the checking budget.
    flood = "&".join(f"pwd={rand(ALNUM, 12, f'auth{i}')}" for i in range(600)) + "\n" + "lorem ipsum\n" * filler
    _, checked, judged, _, _ = scanner.judging_budget(len(flood))
    assert judged < 600 < checked
    token = "eEmgLHjNOroLvuwwCkCluPERUxEnByVrjxaZzBKm"
    assert token in Redactor().redact(f"use Bearer {token} here")
    for header in (f"Authorization: Bearer {token}", f'curl -H "Authorization: Bearer {token}" https://x'):
        out = Redactor().redact(flood + "\n" + header + "\n")
        assert token not in out, header
