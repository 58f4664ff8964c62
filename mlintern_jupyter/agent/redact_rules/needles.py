"""Stage 1 of the scanner: where the needles of the rules occur, found by one Aho-Corasick automaton
(ahocorasick-rs, Rust) over the lower-cased text, a few ms per MB.

The automaton runs over blocks of the text. Ordinary text yields every hit; once the hits pass the dense
threshold, only which needles occur matters (the scanner then runs those rules over the whole text), and the
rest is searched only for the needles not seen yet: a Python tuple for each of 333,000 hits of
`key=1&key=1&...` took longer than all the rules together.
"""

from __future__ import annotations

from operator import itemgetter

import ahocorasick_rs

Hit = tuple[int, int, int]  # (needle index, start, end)

BLOCK = 65_536  # characters searched at a time until the text proves dense
DENSE_BLOCK = 16_384  # ... and after: a needle first seen there costs at most one block of hits
REBUILD = 256  # a dense block with more hits than this drops the needles it found from the automaton


class NeedleIndex:
    """The needles (lower-case literals) and their automaton, built once. Thread-safe: searches keep their
    state in locals."""

    def __init__(self, needles: list[str]) -> None:
        self.needles = needles
        self.automaton = ahocorasick_rs.AhoCorasick(needles)
        self.overlap = max(map(len, needles)) - 1  # a block is searched this far into the next one

    def find(self, low: str, limit: int) -> tuple[list[Hit], set[int] | None]:
        """(every hit in low, None) when there are at most `limit`; past it, ([], the needles that occur)."""
        n, automaton, overlap = len(low), self.automaton, self.overlap
        if n <= BLOCK:
            found = automaton.find_matches_as_indexes(low, overlapping=True)
            return (found, None) if len(found) <= limit else ([], set(map(itemgetter(0), found)))
        hits: list[Hit] = []
        lo = 0
        while lo < n:
            hi = lo + BLOCK
            found = automaton.find_matches_as_indexes(low[lo : hi + overlap], overlapping=True)
            if hi < n:  # a hit starting in the overlap belongs to the next block
                found = [h for h in found if h[1] < BLOCK]
            if len(hits) + len(found) > limit:
                return [], self._occurring(low, hi, set(map(itemgetter(0), hits)) | set(map(itemgetter(0), found)))
            hits += found if lo == 0 else [(i, s + lo, e + lo) for i, s, e in found]
            lo = hi
        return hits, None

    def _occurring(self, low: str, lo: int, seen: set[int]) -> set[int]:
        """seen, plus the needles that occur in low from lo on, searched for only while not yet seen."""
        n, overlap = len(low), self.overlap
        automaton, ids = None, []
        while lo < n:
            if automaton is None:
                ids = [i for i in range(len(self.needles)) if i not in seen]
                if not ids:
                    break
                automaton = ahocorasick_rs.AhoCorasick([self.needles[i] for i in ids])
            found = automaton.find_matches_as_indexes(low[lo : lo + DENSE_BLOCK + overlap], overlapping=True)
            seen.update(ids[i] for i in set(map(itemgetter(0), found)))
            if len(found) > REBUILD:
                automaton = None
            lo += DENSE_BLOCK
        return seen
