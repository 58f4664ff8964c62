"""The shape of a token rule and the helpers the rule tables are written with.

A rule is found through its *needles*: lower-case literals at least one of which occurs in every match. The
scanner feeds all needles of all rules through one Aho-Corasick automaton and runs a rule only where one of
its needles occurs, so a rule costs nothing on text that cannot contain its token.

Every pattern must run in linear time on any input: possessive quantifiers (``{n,}+``) or bounded ones, no
nested unbounded repetition. Every pattern starts with its needle's literal, so the regex engine scans for
the literal (fast) instead of trying every position; what a token has before the literal (the 32 hex digits
of `...-us12`) is checked by a lookbehind, and the masked span is extended back over `lead` characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .shapes import is_placeholder, looks_random, word_fraction

# Left boundary: not inside a longer identifier, except right after an ANSI SGR code such as "\x1b[31m",
# whose trailing "m" would otherwise hide a coloured token from every prefix rule.
LB = r"(?:(?<![A-Za-z0-9_])|(?<=[0-9;\[]m))"
# Stricter, for short prefixes that also end file names and paths (`favicon.ico-...`, `/pa-...`).
LBS = r"(?:(?<![A-Za-z0-9_./\\-])|(?<=[0-9;\[]m))"
# Right boundary for fixed-length shapes.
RB = r"(?![A-Za-z0-9])"
RBW = r"(?![A-Za-z0-9_-])"
HEX = "[0-9a-f]"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
URL_CHARS = ALNUM + ".:/-"
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@dataclass(frozen=True)
class TokenRule:
    kind: str
    regex: re.Pattern[str]
    needles: tuple[str, ...]
    back: int = 0  # at most this many `lead` characters before the match belong to the secret
    fwd: int = 0  # how far after its needle's end a match may reach (0: the scanner's default window)
    group: int = 0  # the group holding the secret; 0 = the whole match
    check: Callable[[str], bool] | None = None  # extra test on the secret; False = leave it
    source: str = ""  # where the shape is documented
    prefixes: tuple[str, ...] = ()  # literal openings, stripped before the placeholder test
    lead: str = ""  # characters of the secret that come before the match (see module docstring)

    def accepts(self, secret: str) -> bool:
        if not secret:
            return False
        body = secret
        for prefix in self.prefixes:
            if secret.startswith(prefix):
                body = secret[len(prefix) :]
                break
        # `sk-your-key-here`, `xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere`, `hf_requiredTypesForDisplay`
        if is_placeholder(body, sequential=False) or (len(body) >= 12 and word_fraction(body) >= 0.5):
            return False
        return self.check is None or self.check(secret)


def random_body(prefix_len: int, min_len: int = 16) -> Callable[[str], bool]:
    """Check for tokens whose prefix is short or common: the rest must look generated."""

    def check(secret: str) -> bool:
        return looks_random(secret[prefix_len:], min_len)

    return check


def prefixed(
    kind: str, prefixes: str, body: str, *, check: Callable[[str], bool] | None = None, src: str = "", strict: bool = False
) -> TokenRule:
    """A token that opens with one of the literal `prefixes` (separated by "|"), followed by `body`. `strict`:
    the prefix is short or common, so it must not follow a dot, slash or hyphen either."""
    literals = sorted(prefixes.split("|"), key=len, reverse=True)
    before = r"[A-Za-z0-9_./\\-]" if strict else "[A-Za-z0-9_]"
    # The literal comes first and the boundary is checked behind it, so the regex engine can scan for the
    # literal instead of trying a lookbehind at every position (about 40x faster on long windows).
    alternation = "|".join(f"{re.escape(p)}(?:(?<!{before}{re.escape(p)})|(?<=[0-9;\\[]m{re.escape(p)}))" for p in literals)
    regex = re.compile(f"(?:{alternation}){body}")
    # Two-letter prefixes would flood the automaton (`acacac...`): such rules run over the whole text instead,
    # where the regex engine's own scan for the literal is as fast.
    needles = () if min(map(len, literals)) <= 2 else tuple(sorted({p.lower() for p in literals}))
    return TokenRule(kind, regex, needles, fwd=_reach(regex), check=check, source=src, prefixes=tuple(literals))


def _reach(regex: re.Pattern[str]) -> int:
    """How far a match can extend: its maximum width when bounded, else 0 (the scanner's default window)."""
    width = re._parser.parse(regex.pattern).getwidth()[1]  # type: ignore[attr-defined]
    return width + 2 if width < 2048 else 0


def inner(
    kind: str, pattern: str, needles: str, *, lead: str = "", back: int = 0, fwd: int = 0, group: int = 0,
    check: Callable[[str], bool] | None = None, src: str = "",
) -> TokenRule:
    """A token recognised by a literal (`needles`, space-separated, matched case-insensitively) that the
    pattern starts with; `lead`/`back`: the characters before it that are part of the secret."""
    regex = re.compile(pattern)
    return TokenRule(kind, regex, tuple(needles.lower().split()), back, fwd or _reach(regex), group, check, src, lead=lead)
