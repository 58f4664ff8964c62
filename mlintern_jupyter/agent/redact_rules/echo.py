"""Echoes: once a scan masks a value, its other occurrences in the same text are masked too.

A value is often caught where its key names it (`token = 'S'`) and then printed again bare (`echo $TOKEN`, a log
line that repeats the key it was given, a test table `'S' | 'S'`); the bare copy alone may look like nothing.
Echoes are found per text, never remembered across calls: a remembered false positive would mask a benign value
forever after (the known-value registry, fed only by the session's own secrets, is the place for memory).

One Aho-Corasick pass over the text finds every echo of the masked values: about 10 ms a megabyte, plus 5
microseconds a value to build. A text that masks more than ECHO_BUDGET + n // ECHO_SPACING values (about 550 a
megabyte: only text made of secrets, like the benchmark's pathological inputs) is not echo-checked, so the scan
keeps its bounded time per MB; real logs mask far fewer.
"""

from __future__ import annotations

import ahocorasick_rs

# Shorter values are words and numbers as often as secrets; longer spans are blocks (keys, whole unjudged
# windows) whose echoes are not a concern and whose automaton would cost memory.
MIN_ECHO, MAX_ECHO = 12, 1024
ECHO_BUDGET, ECHO_SPACING = 300, 4_000


def echo_spans(text: str, spans: list[tuple[int, int, str, int]]) -> list[tuple[int, int, str, int]]:
    """The spans of the other occurrences of each masked value (same kind and priority as its first span)."""
    kinds: dict[str, tuple[str, int]] = {}
    budget = ECHO_BUDGET + len(text) // ECHO_SPACING
    if len(spans) > 2 * budget:
        return []
    for start, end, kind, prio in spans:
        if MIN_ECHO <= end - start <= MAX_ECHO:
            value = text[start:end]
            if "\n" not in value and value.strip() == value:
                kinds.setdefault(value, (kind, prio))
    if not kinds or len(kinds) > budget:
        return []
    values = list(kinds)
    automaton = ahocorasick_rs.AhoCorasick(values, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
    masked = {(start, end) for start, end, _, _ in spans}
    return [(start, end, *kinds[values[index]]) for index, start, end in automaton.find_matches_as_indexes(text)
            if (start, end) not in masked]
