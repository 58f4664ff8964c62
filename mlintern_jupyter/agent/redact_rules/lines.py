"""Line boundaries of a window of text, for the context rules: whether a key opens its line, where a config
value's line ends."""

from __future__ import annotations

import re
from bisect import bisect_left

_NEWLINE_RE = re.compile("\n")


class Lines:
    """Line boundaries inside a window text[lo:hi], found once; lookups bisect. `first_start` and `last_end`
    are the bounds of the window's first and last lines (they may lie outside the window)."""

    def __init__(self, text: str, lo: int, hi: int, first_start: int, last_end: int) -> None:
        self.breaks = [m.start() for m in _NEWLINE_RE.finditer(text, lo, hi)]
        self.first_start, self.last_end = first_start, last_end

    @classmethod
    def around(cls, text: str, pos: int, reach: int = 4096) -> Lines:
        """The line holding pos, looked for at most `reach` characters either way (a longer line is treated
        as starting and ending there: its key is then not at a line start)."""
        start = text.rfind("\n", max(0, pos - reach), pos) + 1 or max(0, pos - reach)
        end = text.find("\n", pos, pos + reach)
        return cls(text, pos, pos, start, min(len(text), pos + reach) if end == -1 else end)

    def start(self, pos: int) -> int:
        i = bisect_left(self.breaks, pos)
        return self.breaks[i - 1] + 1 if i else self.first_start

    def end(self, pos: int) -> int:
        i = bisect_left(self.breaks, pos)
        return self.breaks[i] if i < len(self.breaks) else self.last_end
