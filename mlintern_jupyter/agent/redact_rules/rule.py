"""The shape of a token rule and the helpers the rule tables are written with.

A rule is found through its *needles*: lower-case literals at least one of which occurs in every match. The
scanner feeds all needles of all rules through one Aho-Corasick automaton and runs a rule only where one of
its needles occurs, so a rule costs nothing on text that cannot contain its token.

Every pattern must run in linear time on any input: possessive quantifiers (``{n,}+``) or bounded ones, no
nested unbounded repetition. A rule whose needle opens the token (``back == 0``) is matched at the needle;
otherwise it is searched in the window ``[needle - back, needle end + fwd)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .shapes import is_placeholder, looks_random

# Left boundary: not inside a longer identifier, except right after an ANSI SGR code such as "\x1b[31m",
# whose trailing "m" would otherwise hide a coloured token from every prefix rule.
LB = r"(?:(?<![A-Za-z0-9_])|(?<=[0-9;\[]m))"
# Right boundary for fixed-length shapes.
RB = r"(?![A-Za-z0-9])"
RBW = r"(?![A-Za-z0-9_-])"
HEX = "[0-9a-f]"
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@dataclass(frozen=True)
class TokenRule:
    kind: str
    regex: re.Pattern[str]
    needles: tuple[str, ...]
    back: int = 0  # how many characters before its needle a match may start
    fwd: int = 0  # how many characters after its needle's end a match may reach (back > 0 only)
    group: int = 0  # the group holding the secret; 0 = the whole match
    check: Callable[[str], bool] | None = None  # extra test on the secret; False = leave it
    source: str = ""  # where the shape is documented

    def accepts(self, secret: str) -> bool:
        if not secret or is_placeholder(secret):
            return False
        return self.check is None or self.check(secret)


def random_body(prefix_len: int, min_len: int = 16) -> Callable[[str], bool]:
    """Check for tokens whose prefix is short or common: the rest must look generated."""

    def check(secret: str) -> bool:
        return looks_random(secret[prefix_len:], min_len)

    return check


def prefixed(kind: str, prefixes: str, body: str, *, check: Callable[[str], bool] | None = None, src: str = "") -> TokenRule:
    """A token that opens with one of the literal `prefixes` (separated by "|"), followed by `body`."""
    literals = prefixes.split("|")
    alternation = "|".join(re.escape(p) for p in sorted(literals, key=len, reverse=True))
    regex = re.compile(f"{LB}(?:{alternation}){body}")
    return TokenRule(kind, regex, tuple(sorted({p.lower() for p in literals})), check=check, source=src)


def inner(
    kind: str, pattern: str, needles: str, back: int, fwd: int, *, group: int = 0,
    check: Callable[[str], bool] | None = None, src: str = "",
) -> TokenRule:
    """A token recognised by a literal inside it (`needles`, space-separated, matched case-insensitively)."""
    return TokenRule(kind, re.compile(pattern), tuple(needles.lower().split()), back, fwd, group, check, src)
