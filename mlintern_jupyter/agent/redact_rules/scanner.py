"""The two-stage scanner: one Aho-Corasick pass finds every needle of every rule, then only the rules whose
needles occur run, and only on the windows around them.

Stage 1 lower-cases the text and runs the automaton over it (:mod:`.needles`): a few ms per MB.
Stage 2, per hit: a token rule's window ([needle - back, needle end + fwd)) is merged with that rule's pending
window when they touch, so a run of thousands of hits becomes one regex pass; a context keyword schedules its
line (and, for element and pair syntaxes, the next two lines) once. Entropy and shape checks run on matches
only. A last pattern looks at lines that are a single token, the one place without a needle.

Every regex is linear (see :mod:`.rule`), every window is visited once per rule, so the total work is
bounded by (text length) x (number of rules whose needles occur), and in practice is a few passes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import itemgetter
from re._constants import LITERAL, MAX_REPEAT, MIN_REPEAT, POSSESSIVE_REPEAT  # type: ignore[import-not-found]

from . import context, elements
from .echo import echo_spans
from .needles import NeedleIndex
from .rule import TokenRule
from .shapes import (
    PLAIN_RE,
    is_code_like,
    is_identifier_like,
    is_lone_secret,
    looks_like_password,
    mixed_fraction,
    placeholder,
    reads_as_name,
    word_fraction,
)

# How far past its needle an unbounded token is first looked for; a match reaching the window's end is
# re-matched without the bound, so no token is cut.
DEFAULT_FWD = 512
CONTEXT_BEFORE = 256  # element and pair syntaxes start at most this far before their keyword
ELEMENT_REACH = 2048  # ... and end within this much of each of the next three line ends
# More needle hits than one per DENSE_SPACING characters (and at least DENSE_MIN_HITS) switch to whole-text
# passes per rule; below that, the number of context candidates judged one by one is bounded by the hits.
DENSE_SPACING = 128
DENSE_MIN_HITS = 64
DENSE_BLOCK = 16_384
# Budgets of a scan (see Scanner.spans): candidates looked at one by one (a few microseconds each), values
# judged (up to a hundred), then candidates checked against the keys found benign (about two).
LOOK_BUDGET, LOOK_SPACING = 4_000, 125
JUDGE_BUDGET, JUDGE_SPACING = 400, 5_000
CHECK_SPACING = 40
TOKEN_BUDGET, TOKEN_SPACING = 500, 2_000  # shape checks of token-rule matches (up to ~60 microseconds each)
LONE_BUDGET, LONE_SPACING = 300, 4_000  # lone tokens judged fully: 300 plus one per 4,000 characters
# The three kinds of full judgment above (values, token shapes, lone tokens: tens of microseconds each) also
# draw on one shared budget, as large as the largest of them: alone, each kind gets its own budget as before;
# together (`token: sk-...` lines: a token rule and a context rule on every value) they no longer add up.
SHARED_BUDGET, SHARED_SPACING = TOKEN_BUDGET, TOKEN_SPACING
MAX_CHECKED = 4096  # a token's shape checks look at its first characters only
_CONTEXT = -1
_SAFE_STOP_RE = re.compile(r"[\s\"',;]")
# A line that is one token: the only place a secret is recognised by its shape alone.
# Starts with the newline (the text gets one prepended) so the engine can scan for it rather than try `^` at
# every position.
LONE_RE = re.compile(
    r"\n[ \t]*+(?P<q>[\"'`]?)(?P<tok>[A-Za-z0-9+/_.~=-]{16,600}+|[\w.@+-]{1,64}+:(?P<pw>[^\s:\"'`,/]{8,200}+))(?P=q)"
    r"[ \t]*+[,;]?[ \t]*+(?=\r?\n|\Z)"
)


def _lone_password(pw: str) -> bool:
    """The password of a lone `user:password` (what curl's -u takes): letters, digits and either symbols or
    both cases, mostly in mixed runs, so `model:Llama-3.1-8B` or `epoch:3/10` stay."""
    has_case_mix = any(c.isupper() for c in pw) and any(c.islower() for c in pw)
    if len(pw) < 8 or pw.startswith("//") or "\\" in pw or "=" in pw or not any(c.isalpha() for c in pw):
        return False
    if reads_as_name(pw):  # `kms:ReEncryptFrom`, `pydantic:NoneStrBytes`, `ly:base64-encode`: names, not logins
        return False
    if not any(c.isdigit() for c in pw):  # `yqDVtkqPECriaLRi`: long, both cases, no words
        return len(pw) >= 12 and has_case_mix and word_fraction(pw) < 0.3 and looks_like_password(pw)
    return (
        (has_case_mix or any(not c.isalnum() for c in pw))
        and mixed_fraction(pw) >= 0.5
        and looks_like_password(pw)
        and not is_code_like(pw)
        and not is_identifier_like(pw)
    )


# (start, end, kind, priority): a plain tuple, built by the hundred thousand on pathological input. When
# spans overlap, the lower priority names the kind (token rules by table order, then context, then lone).
Span = tuple[int, int, str, int]


def _opening(regex: re.Pattern[str]) -> str:
    """The literal every match of regex starts with (literals and fixed repeats of one), "" if none."""
    if regex.flags & re.IGNORECASE:
        return ""
    opening = []
    for op, arg in re._parser.parse(regex.pattern, regex.flags):  # type: ignore[attr-defined]
        if op is LITERAL:
            opening.append(chr(arg))
        elif op in (MAX_REPEAT, POSSESSIVE_REPEAT, MIN_REPEAT) and arg[0] == arg[1] and len(arg[2]) == 1 and arg[2][0][0] is LITERAL:
            opening.append(chr(arg[2][0][1]) * arg[0])
        else:
            break
    return "".join(opening)


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end == -1 else end


def _lower(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters (U+0130) lower-case to two; keep offsets aligned by lower-casing ASCII only.
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}


def judging_budget(n: int) -> list[int]:
    """A scan's budgets for a text of n characters (see Scanner.spans)."""
    return [LOOK_BUDGET + n // LOOK_SPACING, n // CHECK_SPACING, JUDGE_BUDGET + n // JUDGE_SPACING,
            TOKEN_BUDGET + n // TOKEN_SPACING, SHARED_BUDGET + n // SHARED_SPACING]


class Scanner:
    """All pattern rules, compiled once. Thread-safe: scanning keeps its state in locals."""

    def __init__(self, rules: Sequence[TokenRule]) -> None:
        self.rules = tuple(rules)
        by_needle: dict[str, list[int]] = {}
        for index, rule in enumerate(self.rules):
            for needle in rule.needles:
                by_needle.setdefault(needle, []).append(index)
        for needle in context.NEEDLES:
            by_needle.setdefault(needle, []).append(_CONTEXT)
        self._anchorless = tuple(i for i, rule in enumerate(self.rules) if not rule.needles)
        # An anchorless rule whose matches all open with a longer literal (`A{22}`) is skipped where that
        # literal is absent: the regex engine tries such a repeat at every position (7 ms per MB).
        self._openings = {i: _opening(self.rules[i].regex) for i in self._anchorless}
        self._targets = [tuple(targets) for targets in by_needle.values()]
        self._needles = NeedleIndex(list(by_needle))

    def __len__(self) -> int:
        return len(self.rules)

    def spans(self, text: str, *, lone: bool = True) -> list[Span]:
        """Every secret span found in text (overlapping spans are merged later)."""
        if not text:
            return []
        n = len(text)
        out: list[Span] = []
        # Key classes, verdicts and accepted tokens of this scan, and its budgets: how many context candidates
        # may still be judged one by one, then how many checked against the keys found benign (a long log
        # keeps its counters readable); past both (only text made of assignments gets there), the rest of each
        # window is masked whole. No input costs more than a bounded time per MB, and none fails open.
        memo: dict = {context.BUDGET: judging_budget(n)}  # type: ignore[type-arg]
        low = _lower(text)
        hits, dense = self._needles.find(low, max(DENSE_MIN_HITS, n // DENSE_SPACING))
        if dense is not None:
            self._dense(text, low, dense, out, memo)
        else:
            self._sparse(text, low, hits, out, memo)
        for index in self._anchorless:
            if self._openings[index] in text:
                self._run(index, text, 0, n, out, memo)
        if lone:
            self._lone(text, out, memo[context.BUDGET])
        out += echo_spans(text, out)
        return out

    def _sparse(self, text: str, low: str, hits: list[tuple[int, int, int]], out: list[Span], memo: dict) -> None:  # type: ignore[type-arg]
        """Few hits (ordinary text): each rule runs on the merged windows around its needles' hits."""
        n = len(text)
        hits.sort(key=itemgetter(1))
        pending: dict[int, list[int]] = {}
        until = [-1, -1]
        targets, rules = self._targets, self.rules
        for needle, start, end in hits:
            for index in targets[needle]:
                if index == _CONTEXT:
                    self._context(text, low, start, end, until, out, memo)
                    continue
                rule = rules[index]
                lo, hi = start, end + (rule.fwd or DEFAULT_FWD)
                window = pending.get(index)
                if window is not None and lo <= window[1]:
                    if hi > window[1]:
                        window[1] = hi
                    continue
                if window is not None:
                    self._run(index, text, window[0], min(window[1], n), out, memo)
                pending[index] = [lo, hi]
        for index, (lo, hi) in pending.items():
            self._run(index, text, lo, min(hi, n), out, memo)

    def _dense(self, text: str, low: str, needles: set[int], out: list[Span], memo: dict) -> None:  # type: ignore[type-arg]
        """Needles everywhere (pathological or machine-generated text): every rule a needle points to makes
        one pass over the whole text, and the context patterns one pass in line-aligned blocks, so the cost
        no longer grows with the number of hits."""
        n = len(text)
        indexes: set[int] = set()
        for needle in needles:
            indexes.update(self._targets[needle])
        for index in sorted(indexes):
            if index != _CONTEXT:
                self._run(index, text, 0, n, out, memo)
        if _CONTEXT in indexes:
            priority = len(self.rules)
            start = 0
            while start < n:
                end = text.find("\n", min(n, start + DENSE_BLOCK), start + 2 * DENSE_BLOCK)
                if end == -1:  # a very long line: cut it where no value can be running
                    stop = _SAFE_STOP_RE.search(text, min(n, start + DENSE_BLOCK))
                    end = stop.start() if stop else n
                if not context.spent(memo):
                    lines = context.Lines(text, start, end, text.rfind("\n", 0, start) + 1, _line_end(text, end))
                    for s, e, kind in context.assignment_spans(text, low, start, end, lines, memo):
                        out.append((s, e, kind, priority))
                    for s, e, kind in elements.element_spans(text, low, start, end, memo):
                        out.append((s, e, kind, priority + 1))
                else:  # budget spent: candidates masked unjudged (fail closed) unless the memo knows them
                    out += context.unjudged_spans(text, low, start, end, memo, priority + 2)
                # After a cut inside a line, the next block starts a little earlier, so a key just before the
                # cut is read again together with its value (spans found twice merge).
                start = end + 1 if end >= n or text[end] == "\n" else max(start + 1, end - CONTEXT_BEFORE)

    def _run(self, index: int, text: str, lo: int, hi: int, out: list[Span], memo: dict) -> None:  # type: ignore[type-arg]
        rule = self.rules[index]
        regex, group, lead, kind = rule.regex, rule.group, rule.lead, rule.kind
        budgets = memo[context.BUDGET]
        cut = hi if hi < len(text) else -1  # a match ending here may be cut by the window
        append = out.append
        # Dense text holds tens of thousands of matches: per match, as few calls as the checks allow.
        for m in regex.finditer(text, lo, hi):
            if m.end() == cut:  # match again, unbounded
                full = regex.match(text, m.start())
                if full is None:
                    continue
                m = full
            start, end = m.span(group if group >= 0 else (m.lastindex or 0))  # -1: whichever alternative matched
            if lead and start == m.start():  # the part of the secret before the literal
                before = text[max(0, start - rule.back) : start]
                start -= len(before) - len(before.rstrip(lead))
            secret = text[start:end]
            verdict = memo.get((index, secret))
            if verdict is None:  # past the budget of shape checks, a match of the rule's pattern is enough
                budgets[3] -= 1
                budgets[4] -= 1
                verdict = memo[(index, secret)] = bool(secret) and (
                    budgets[3] < 0 or budgets[4] < 0 or rule.accepts(secret[:MAX_CHECKED])
                )
            if verdict:
                append((start, end, kind, index))

    def _context(self, text: str, low: str, start: int, end: int, until: list[int], out: list[Span], memo: dict) -> None:  # type: ignore[type-arg]
        """The context patterns for the keyword at [start, end): the assignment it opens (matched right
        there), and element and pair syntaxes around it, which may put the value up to two lines below.
        `until`: how far the previous keywords' runs reached, [assignments, elements]."""
        priority = len(self.rules)
        if start >= until[0]:
            until[0], found = context.assignment_at(text, low, start, memo)
            if found is not None:
                out.append((*found, priority))
        if start < until[1]:
            return
        line_start = text.rfind("\n", max(0, start - CONTEXT_BEFORE), start) + 1
        lo = max(line_start, start - CONTEXT_BEFORE)
        hi = end
        for _ in range(3):  # to the end of this line and the two below it, at most ELEMENT_REACH each
            if hi >= len(text):
                break
            nxt = text.find("\n", hi + 1, hi + ELEMENT_REACH)
            hi = nxt if nxt != -1 else min(len(text), hi + ELEMENT_REACH)
        for s, e, kind in elements.element_spans(text, low, lo, hi, memo):
            out.append((s, e, kind, priority + 1))
        until[1] = hi

    def _lone(self, text: str, out: list[Span], budgets: list[int]) -> None:
        """Lines that are one token, judged by shape. A regex pass leaves what is plainly no secret (ids,
        digests, names, numbers); LONE_BUDGET distinct tokens are then judged fully (tens of microseconds
        each), and past that budget the rest are masked unjudged."""
        priority = len(self.rules) + 2
        verdicts: dict[str, bool] = {}
        budget = LONE_BUDGET + len(text) // LONE_SPACING
        padded = "\n" + text  # offsets in padded are one more than in text
        prev: re.Match[str] | None = None  # the last lone-token line
        prev_len = 0  # ... and its token's length
        block = False
        tok, pw, plain = LONE_RE.groupindex["tok"], LONE_RE.groupindex["pw"], PLAIN_RE
        # Lines already masked whole (by a token rule, a private key block, a context rule) need no judging:
        # `reach` is how far the spans starting at or before the current line's token extend.
        covered, ci, reach = sorted(out), 0, -1
        n_covered, first_lone = len(covered), len(out)
        next_cover = covered[0][0] if covered else len(padded)  # where the next covering span starts
        for m in LONE_RE.finditer(padded):  # a megabyte holds up to 50,000 of them: few calls per line
            start, end = m.span(tok)
            size = end - start
            # Lines of a wrapped base64 blob (MIME, PEM bodies, gettext test data): equal lengths, adjacent.
            if size >= 40 or block:
                prev_end = -1 if prev is None else prev.end()
                adjacent = prev_end >= 0 and padded.count("\n", prev_end, m.start()) == 0
                if adjacent and size >= 40 and (size == prev_len or block):
                    if not block and len(out) > first_lone and out[-1][1] >= prev_end - 1:
                        out.pop()  # the block's first line was taken for a lone secret: it was not one
                    block = True
                elif not (adjacent and block and size < prev_len):
                    block = False  # (the block's last line is shorter and still part of it)
            prev, prev_len = m, size
            while next_cover < start:
                if covered[ci][1] > reach:
                    reach = covered[ci][1]
                ci += 1
                next_cover = covered[ci][0] if ci < n_covered else len(padded)
            if block or reach >= end - 1:
                continue
            # `user:password` (what curl's -u takes) or a token; a placeholder never is one (`[` is not in LONE_RE)
            pw_start = m.start(pw)
            if pw_start < 0:
                secret = key = padded[start:end]
            else:
                secret = padded[pw_start:end]
                key = ":" + secret  # (a lone token never holds a colon)
            found = verdicts.get(key)
            if found is None:
                if plain.fullmatch(secret) is not None:
                    verdicts[key] = False
                    continue
                budget -= 1
                budgets[4] -= 1
                found = verdicts[key] = budget < 0 or budgets[4] < 0 or (
                    is_lone_secret(secret) if pw_start < 0 else _lone_password(secret)
                )
            if found:
                out.append((start - 1, end - 1, "SECRET", priority) if pw_start < 0 else (pw_start - 1, end - 1, "PASSWORD", priority))


def replace_spans(text: str, spans: list[Span]) -> str:
    """Mask the union of the spans; overlapping spans become one placeholder of the best-priority kind."""
    if not spans:
        return text
    spans.sort()
    names = {kind: placeholder(kind) for kind in {span[2] for span in spans}}  # (50,000 spans to a MB of lines)
    parts: list[str] = []
    append = parts.append
    cursor = 0
    cur_start, cur_end, cur_kind, cur_prio = spans[0]
    for start, end, kind, prio in spans[1:]:
        if start < cur_end:
            if end > cur_end:
                cur_end = end
            if prio < cur_prio:
                cur_kind, cur_prio = kind, prio
            continue
        append(text[cursor:cur_start])
        append(names[cur_kind])
        cursor = cur_end
        cur_start, cur_end, cur_kind, cur_prio = start, end, kind, prio
    parts += [text[cursor:cur_start], names[cur_kind], text[cur_end:]]
    return "".join(parts)
