"""Secrets recognised by the key they are assigned to, in the syntaxes of the common languages and formats.

One keyword-first pattern covers assignments and key/value pairs: shell and `.env` (`X_TOKEN=...`), Python and
Ruby (`token = "..."`, `api_key: str = "..."`, `ENV["X"] = ...`), JS/TS (`const apiKey: string = '...'`), Go
(`var x string = "..."`, `x := \\`...\\``), Java and C# (`String x = "...";`, `System.setProperty("X", "...")`),
PHP (`$x .= "..."`, `'x' => '...'`), Objective-C (`@"..."`), C (`char pw[] = "..."`), Makefile (`=`, `:=`,
`::=`, `:::=`, `?=`), YAML, TOML, INI, JSON (also escaped inside another string), HTTP headers (the credential
after the scheme word), URL query parameters and CLI flags (`--password=x`, `--token x`). Element and pair
syntaxes get their own patterns: XML elements (also with the value on its own line) and name/value pairs
(Kubernetes and GitHub Actions env lists, `<add key=... value=...>`, `{"name": ..., "value": ...}`).

Patterns find candidates (:mod:`.elements` runs the element and pair ones); :func:`.values.judge` decides from the key's class (:mod:`.keys`) and the value's
shape (:mod:`.shapes`) whether the value is a secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .keys import KeyClass, classify_key, words
from .lines import Lines
from .values import COMPARE, MAX_JUDGED, judge, unquote

# Lower-case literals whose presence makes the context patterns worth running on a line.
NEEDLES = ("pass", "pwd", "secret", "token", "key", "auth", "cred", "cookie", "session", "contrase")

_KW = r"(?:pass|pwd|secret|token|key|auth|cred|cookie|session|contrase)"
_TYPE = r"[&*]?(?:\[\])?[A-Za-z_][\w.]{0,40}+(?:\[[^\]\n]{0,30}+\])?+(?:[ \t]*+\|[ \t]*+[A-Za-z_][\w.]{0,40}+)?+"
# After a space (`var password string = "x"`), only a string type: `Pass conds='piecewise'` is prose.
_SPACE_TYPE = r"[&*]?(?:\[\])?(?:string|str|bytes?|rune|char[ \t]*+\*|\[\]byte)"
# A quoted string ends at its first closing quote (escapes are not followed): from any opening quote the scan
# stops at the next quote, so a line of escaped quotes costs linear time instead of quadratic.
_QUOTED = (
    r"(?:@|[rRbBuUfF]{1,2})?(?:\"[^\"\n]*+\"|'[^'\n]*+'|`[^`\n]*+`)"
    r"|\\\"[^\"\\\n]*+\\\"|\\'[^'\\\n]*+\\'"
)
# An unquoted value ends at a quote, bracket, separator or `&name=` (the next URL parameter); a lone `&` is
# part of it (`Tr0ub4dor&3`).
_UNQUOTED = r"(?:[^\s\"'`,;<>()\[\]|&\\]|\\(?![nrt\"'\\/])|&(?![\w.-]{1,40}+=))++"
_VALUE = f"(?P<value>{_QUOTED}|{_UNQUOTED})"
# The empty operator (`#define KEY "v"`, `password xyz`) only after a space.
_OPS = r":::=|::=|:=|\?\?=|\|\|=|\.=|\+=|\?=|=>|<-|===?|!==?|=(?![=~])|:(?![:=])|\|\||\?\?|,|\(|(?<=[ \t])"

# The context patterns run on the lower-cased text (same offsets; values are sliced from the original): a
# case-sensitive scan is 3-10x faster than (?i) on the same input.
ASSIGN_RE = re.compile(
    r"(?P<key>" + _KW + r"[\w.$ñ-]{0,40}+)"
    r"(?P<close>\\?[\"'`]\]?|)(?:\[[^\]\n]{0,40}+\])?+"
    r"(?:[ \t]*+:[ \t]*+" + _TYPE + r"(?=[ \t]*+=(?![=>~]))|[ \t]++" + _SPACE_TYPE + r"(?=[ \t]*+=(?![=>~])))?+"
    r"(?P<sp>[ \t]*+)(?P<op>" + _OPS + r")[ \t]*+" + _VALUE
)
# Group numbers of ASSIGN_RE: a scan reads them for every candidate, and a number is a cheaper lookup than a name.
_KEY_GROUP, _OP_GROUP = ASSIGN_RE.groupindex["key"], ASSIGN_RE.groupindex["op"]
# `"literal" == password`: the secret before the comparison.
REVERSE_CMP_RE = re.compile(r"(?P<value>\"[^\"\n]{1,200}+\"|'[^'\n]{1,200}+')[ \t]*+(?:===?|!==?)[ \t]*+(?P<key>[\w.$]{1,80}+)")
XML_RE = re.compile(
    r"<(?P<key>[\w.:-]{0,60}?" + _KW + r"[\w.:-]{0,60}+)(?:[ \t][^<>\n]{0,200}+)?+>"
    r"[ \t]*+(?:\r?\n[ \t]*+)?(?P<value>[^<>\r\n]{1,2000}+)(?:\r?\n[ \t]*+)?</"
)
# Field names come first and their boundary is checked behind them, so the engine scans for the literals.
NAME_FIELD_RE = re.compile(
    r"(?:parametername(?<![\w-]parametername)|parameterkey(?<![\w-]parameterkey)|parameter(?<![\w-]parameter)|param_name(?<![\w-]param_name)|param_key(?<![\w-]param_key)|paramname(?<![\w-]paramname)|paramkey(?<![\w-]paramkey)|param(?<![\w-]param)|variable(?<![\w-]variable)|property(?<![\w-]property)|setting(?<![\w-]setting)|header(?<![\w-]header)|name(?<![\w-]name)|key(?<![\w-]key)|var(?<![\w-]var)|env(?<![\w-]env)|id(?<![\w-]id))"
    r"(?:[\"']?[ \t]*+(?:=>|[:=])[ \t]*+|>[ \t]*+)[\"']?(?P<name>[\w.$-]{1,80}+)"
)
VALUE_FIELD_RE = re.compile(
    r"(?:parametervalue(?<![\w-]parametervalue)|default(?<![\w-]default)|value(?<![\w-]value)|val(?<![\w-]val))(?:[\"']?[ \t]*+(?:=>|[:=])[ \t]*+|>[ \t]*+)"
    r"(?P<value>" + _QUOTED + r"|(?:[^\s\"'`,;<>()\[\]{}|&\\]|&(?![\w.-]{1,40}+=))++)"
)
# requests-style `auth=("user", "password")`.
AUTH_TUPLE_RE = re.compile(r"auth[ \t]*=[ \t]*\([ \t]*(['\"])[^'\"\n]{0,100}+\1[ \t]*,[ \t]*(['\"])(?P<value>[^'\"\n]{1,200}+)\2")

# The memo slot of a scan's budgets (every other memo key is a string or a tuple): [candidates still looked at
# one by one, candidates still checked against the keys known to be benign, values still judged, token-rule
# matches still shape-checked, full judgments of any kind still made]; when the first, the third or the fifth
# runs out, candidates are checked; past the second, what is left of a window is masked whole; past the fourth
# or the fifth, a token rule's match is enough (Scanner.spans).
BUDGET = 0
_KEY_CHARS_STR = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$@-ñÑ"
_KEY_CHARS = frozenset(_KEY_CHARS_STR)
_LITERALS = frozenset({"true", "false", "none", "null", "nil", "", "0", "1"})
_NESTED_CHARS = frozenset("=:(,<>|? \t")  # what an operator of ASSIGN_RE needs, one of them at least
_OPERATOR_RE = re.compile(r"[=:(,<>|? \t]")
# What may precede a key at the start of a config line: indentation, `export`, `set`, a YAML list dash, ...
_LINE_HEAD_RE = re.compile(r"[ \t]*+(?:(?:export|set|setenv|declare -x|readonly|local|ENV|ARG|\$env:|-)[ \t]++)?+")
_TRAILING_COMMENT_RE = re.compile(r"[ \t]+(?:#|//|;)(?![^\s]*[=:]).*$")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9._-]{1,30}")
# Keys whose call with one string is a setter: `setPassword("x")`, `.apiKey("x")`, `std::string secret("x")`.
_SETTER_WORDS = frozenset({"set", "with", "put", "use", "assign"})
# An Authorization value that is code: a subscript or call (a type annotation), a conditional expression.
_HEADER_CALL_RE = re.compile(r"[A-Za-z_$][\w$.]*+[(\[]")
_HEADER_EXPR_RE = re.compile(r"[ \t](?:if|else|or|and|is|not)[ \t]")
_AUTH_KEYS = frozenset({"authorization", "proxy-authorization", "x-authorization"})


_LINE_MEMO = 256  # lines up to this long are remembered whole with their verdict (see assignment)


def _key_start(text: str, pos: int) -> int:
    """Where the key holding the keyword at pos begins (`my_` of `my_password`)."""
    head = text[max(0, pos - 80) : pos]
    return pos - (len(head) - len(head.rstrip(_KEY_CHARS_STR)))


def _rest_of_line(text: str, start: int, line_end: int) -> int:
    """End of an unquoted config value that runs to the end of its line (comments and `,;` stripped)."""
    segment = text[start:line_end]
    if "#" in segment or "/" in segment or ";" in segment:  # (the pattern scans slowly: a line can be 1 MB)
        segment = _TRAILING_COMMENT_RE.sub("", segment)
    segment = segment.rstrip().rstrip(",;\"'`\\").rstrip()
    return start + len(segment)


def _auth_credential(text: str, vs: int, ve: int, quoted: bool, line_start: int, line_end: int) -> tuple[int, int]:
    """For an Authorization value, the span of the credential after its scheme word (`Bearer`, `Basic`,
    `Token`, `Api-Token`, `SSWS`, `Digest`, `AWS4-HMAC-SHA256`, ...), to the end of the header: the end of
    the line, or the quote closing the string the header sits in (`curl -H "Authorization: ..."`)."""
    value = text[vs:ve]
    scheme = _SCHEME_RE.match(value)
    if quoted:
        if scheme and scheme.end() < len(value) and value[scheme.end()] in " \t":
            rest = len(value) - len(value[scheme.end() :].lstrip(" \t"))
            return vs + rest, ve
        return vs, ve
    if scheme and scheme.end() == len(value):
        after = vs + scheme.end()
        tail = text[after:line_end]
        stripped = tail.lstrip(" \t")
        if stripped and tail[:1] in " \t":
            start = after + len(tail) - len(stripped)
            head = text[line_start:vs]
            enclosing = next((q for q in "\"'" if head.count(q) % 2), None)
            end = text.find(enclosing, start, line_end) if enclosing else -1
            end = line_end if end == -1 else end
            escaped = text.find("\\n", start, end)  # a JSON-escaped newline ends the header too
            end = end if escaped == -1 else escaped
            while end > start and text[end - 1] in " \t,;\\":
                end -= 1
            return start, end
    return vs, ve


def _candidates(low: str, lo: int, hi: int) -> Iterator[re.Match[str]]:
    """ASSIGN_RE's matches in low[lo:hi]. The next search starts at a match's value, not after it, so a key
    inside a value (`a_token= b_token= x`) is judged too, and a second redaction pass finds nothing new."""
    # Every operator holds one of these characters: without one, a fast pass replaces a keyword tail read at
    # every keyword (text of keywords alone).
    if _OPERATOR_RE.search(low, lo, hi) is None:
        return
    pos = lo
    while True:
        m = ASSIGN_RE.search(low, pos, hi)
        if m is None:
            return
        yield m
        pos = max(_resume(m), pos + 1)


def assignment_spans(
    text: str, low: str, lo: int, hi: int, lines: Lines, memo: dict  # type: ignore[type-arg]
) -> Iterator[tuple[int, int, str]]:
    """Secrets assigned to secret-named keys in text[lo:hi] (`low`: text lower-cased). `memo` caches key
    classes and verdicts for one scan (pathological inputs repeat the same assignment thousands of times)."""
    for m in _candidates(low, lo, hi):
        if spent(memo):  # spent inside this window: the rest of it is masked unjudged
            yield from ((vs, ve, "SECRET") for vs, ve in unjudged_assignments(text, low, m.start(), hi, memo))
            return
        found = assignment(text, m, lines, memo)
        if found is not None:
            yield found


def assignment_at(text: str, low: str, pos: int, memo: dict) -> tuple[int, tuple[int, int, str] | None]:  # type: ignore[type-arg]
    """The assignment whose keyword starts at pos, if any: (where its value starts, the secret span or None)."""
    lines = Lines.around(text, pos)
    m = ASSIGN_RE.match(low, pos, lines.last_end)
    if m is None:
        return pos + 1, None
    if spent(memo):  # unjudged, as in unjudged_assignments
        vs, ve = m.span("value")
        value = low[vs:ve]
        key_known_benign = memo.get(text[_key_start(text, pos) : m.end("key")], True) is None
        if (key_known_benign or value.strip("\"'") in _LITERALS) and _NESTED_CHARS.isdisjoint(value):
            return _resume(m), None
        return m.end(), (vs, _header_end(text, text[_key_start(text, pos) : m.end("key")], ve), "SECRET")
    return _resume(m), assignment(text, m, lines, memo)


def _header_end(text: str, key: str, ve: int) -> int:
    """Where an unjudged value ends: an Authorization header's runs on past its scheme word (`Bearer <token>`,
    masked as `Bearer` alone before) to the end of its line; any other value ends where it ends (ve)."""
    if key.lower().lstrip("\"'-") not in _AUTH_KEYS:
        return ve
    end = text.find("\n", ve)
    return len(text) if end == -1 else end


def _resume(m: re.Match[str]) -> int:
    """Where to look for the next assignment: inside this one's value if it is short (a key there gets its
    own turn), after it if it is long (re-reading a long value from every key in it would be quadratic)."""
    return m.start("value") if m.end() - m.start("value") <= 256 else m.end()


def assignment(text: str, m: re.Match[str], lines: Lines, memo: dict) -> tuple[int, int, str] | None:  # type: ignore[type-arg]
    """The secret span of one ASSIGN_RE match, or None."""
    ms, me = m.span()
    ks = _key_start(text, ms) if ms and text[ms - 1] in _KEY_CHARS else ms
    if text.endswith("[REDACTED:", 0, ks):  # the kind inside a placeholder is not a key
        return None
    memo[BUDGET][0] -= 1
    if cached_key_class(text[ks : m.end(_KEY_GROUP)], memo) is None:
        return None
    # The verdict depends on the match, the key before it, whether the key opens its line (a config value
    # then runs to the end of it), and (for the space operator) on a netrc line.
    line_start = lines.start(ks)
    whole = (
        text[ks : min(me, ks + MAX_JUDGED)],
        text[ks - 1 : ks] == ":",
        me - ks,
        _LINE_HEAD_RE.fullmatch(text, line_start, ks) is not None,
        m.start(_OP_GROUP) == m.end(_OP_GROUP) and _netrc_line(text, line_start, ks),
    )
    cached = memo.get(whole)
    if cached is not None:  # the same assignment, judged before where nothing around it mattered
        return (me - cached[0], me - cached[1], cached[2]) if cached else None
    # Otherwise the verdict reads the assignment's line only (a config value runs to its end, a header's
    # credential is looked for in it): the same short line with the key at the same place is judged once.
    line_end = lines.end(ks)
    line = None
    if line_end - line_start <= _LINE_MEMO:
        line = (text[line_start:line_end], ks - line_start, m.start() - ks, m.end() - ks)
        cached = memo.get(line)
    if cached is not None:
        return (line_start + cached[0], line_start + cached[1], cached[2]) if cached else None
    found = _judge_assignment(text, m, ks, lines, memo)
    if found is None:
        return None
    vs, ve, kind, context_free = found
    if context_free:
        memo[whole] = (m.end() - vs, m.end() - ve, kind) if kind else ()
    elif line is not None:
        memo[line] = (vs - line_start, ve - line_start, kind) if kind else ()
    return (vs, ve, kind) if kind else None


def _judge_assignment(
    text: str, m: re.Match[str], ks: int, lines: Lines, memo: dict  # type: ignore[type-arg]
) -> tuple[int, int, str, bool] | None:
    """(value start, value end, kind or "", whether the verdict depends on this match's text alone)."""
    vs, ve = m.span("value")
    raw, op = text[vs:ve], m.group("op")
    key = text[ks : m.end("key")]
    kc = cached_key_class(key, memo)
    if kc is None:
        return vs, ve, "", True
    # A key inside a colon path is no key: `arn:aws:secretsmanager:...`, `kms:Decrypt`, `"AWS::IAM::AccessKey"`.
    if text[ks - 1 : ks] == ":" and m.group("op") in (":", ","):
        return vs, ve, "", True
    a, b, quoted = unquote(raw)
    if not quoted and raw.endswith("}") and raw.count("}") > raw.count("{"):
        b = len(raw.rstrip("}"))  # `{"flag": False}`: the brace closes the dict
    cli = key.startswith("-")
    line_start = lines.start(ks)
    context_free = True
    if op == "" and key.lower() == "pass":  # `pass` followed by a word: the verb or Python's statement
        return vs, ve, "", context_free
    if quoted and raw[:1] in "fF" and "{" in raw:  # an f-string: what it holds is computed, not written here
        return vs, ve, "", context_free
    if op == "" and not (cli or _netrc_line(text, line_start, ks)):
        op = " "  # `password "xyz"`, `#define KEY "xyz"`, or prose: only generated-looking values
    if (op in (",", "(") and not quoted) or (op == "," and (not m.group("close") or kc.tier == "weak")):
        return vs, ve, "", context_free
    if op == "," and not (key.isupper() or len(words(key)) > 1):  # ("DB_PASSWORD", "x"), not ["pass", "x"]
        return vs, ve, "", context_free
    if (op == "(" and not _is_setter(key)) or (op == ":" and cli):
        return vs, ve, "", context_free
    vs, ve = vs + a, vs + b
    if kc.kind == "AUTH" and key.lower().lstrip("\"'-") in _AUTH_KEYS and op in (":", "=", "=>"):
        line_end = lines.end(vs)
        if not quoted and (_HEADER_CALL_RE.match(text, vs, line_end) or _HEADER_EXPR_RE.search(text, vs, line_end)):
            return vs, ve, "", False  # `authorization: ReadOnly[X]`, `"Authorization": auth if auth else x`
        vs, ve = _auth_credential(text, vs, ve, quoted, line_start, lines.end(vs))
        context_free = False
        quoted, op = True, "header"  # header content: `username="me", response="..."` is not code
    first_word_end = ve
    if not quoted and op not in COMPARE and _LINE_HEAD_RE.fullmatch(text, line_start, ks):
        context_free = False
        rest = _rest_of_line(text, vs, lines.end(vs))
        # `key = a value with spaces` (INI, .env) runs to the end of the line; after `:` (YAML, prose,
        # docstrings) only a value without spaces does.
        if rest > ve and text[ve : ve + 2] != ", " and (op != ":" or not any(c.isspace() for c in text[vs:rest])):
            ve = rest  # (not past `, ` right after the value: `PLAIN_PASSWORD = 46, _OptType.bytes` is a tuple)
    if ve <= vs:
        return None
    if _verdict(kc, text[vs:ve], quoted, op, memo):
        return vs, ve, kc.kind, context_free
    # `API_TOKEN=<key> python train.py`: the words after a generated-looking first word are a command.
    if first_word_end < ve and op.endswith("=") and _verdict(kc, text[vs:first_word_end], quoted, " ", memo):
        return vs, first_word_end, kc.kind, context_free
    return vs, ve, "", context_free


def _verdict(kc: KeyClass, value: str, quoted: bool, op: str, memo: dict) -> bool:  # type: ignore[type-arg]
    """judge, once per distinct value in a scan (it reads the value's first MAX_JUDGED characters only)."""
    verdict_key = (kc, value[:MAX_JUDGED], quoted, op)
    verdict = memo.get(verdict_key)
    if verdict is None:
        memo[BUDGET][2] -= 1
        memo[BUDGET][4] -= 1
        verdict = memo[verdict_key] = judge(kc, verdict_key[1], quoted=quoted, op=op)
    return bool(verdict)


def _is_setter(key: str) -> bool:
    """`setPassword(`, `.withToken(`, `.password(`, `std::string secret(`: a call that sets the secret."""
    name = key.rsplit(".", 1)[-1].rsplit("::", 1)[-1]
    if name[:1].isupper():  # `new Token("@scope/pkg:Id")`, `Secret(...)`: a class, not a setter
        return False
    ws = words(name)
    return bool(ws) and (ws[0] in _SETTER_WORDS or ws in (["password"], ["secret"], ["token"], ["api", "key"], ["apikey"]))


def _netrc_line(text: str, line_start: int, key_start: int) -> bool:
    """`machine example.com login me password xyz` (.netrc), where a space separates key and value."""
    head = text[max(line_start, key_start - 200) : key_start].lower()
    return "machine " in head or "login " in head


def unjudged_spans(
    text: str, low: str, lo: int, hi: int, memo: dict, priority: int  # type: ignore[type-arg]
) -> list[tuple[int, int, str, int]]:
    """What a scan masks in text[lo:hi] once its judging budget is spent (see Scanner.spans): every value the
    context patterns would look at, unjudged (fail closed), except under keys this scan has already found
    not to name a secret. A long log repeats its keys (`prompt_tokens`, `"name": "lr"`), so its counters
    and names stay readable. Spans come as the scanner keeps them: (start, end, "SECRET", priority)."""
    spans = [(vs, ve, "SECRET", priority) for vs, ve in unjudged_assignments(text, low, lo, hi, memo)]
    window = low[lo:hi]  # as in element_spans, a pattern runs only where its literal is
    xml, pairs = "</" in window, "val" in window or "default" in window
    spans += [
        (*m.span("value"), "SECRET", priority)
        for m in XML_RE.finditer(low, lo, hi if xml else lo)
        if memo.get(text[m.start("key") : m.end("key")], True) is not None
    ]
    for m in NAME_FIELD_RE.finditer(low, lo, hi if pairs else lo):
        if memo.get(text[m.start("name") : m.end("name")], True) is not None:
            v = VALUE_FIELD_RE.search(low, m.end(), min(hi, m.end() + 300))
            if v is not None:
                spans.append((*v.span("value"), "SECRET", priority))
    return spans


def unjudged_assignments(text: str, low: str, lo: int, hi: int, memo: dict) -> list[tuple[int, int]]:  # type: ignore[type-arg]
    """The values of ASSIGN_RE's matches in text[lo:hi], unjudged, but those under keys known to be benign (or
    holding only a literal) while the second budget lasts; past it, everything from the next value to the
    window's end, in one span (only text made of nothing but assignments gets there)."""
    spans: list[tuple[int, int]] = []
    append, get = spans.append, memo.get
    budgets = memo[BUDGET]
    left = budgets[1]
    key_group, value_group = ASSIGN_RE.groupindex["key"], ASSIGN_RE.groupindex["value"]
    matches = ASSIGN_RE.finditer(low, lo, hi if _OPERATOR_RE.search(low, lo, hi) else lo)  # as in _candidates
    for m in matches:  # as tight as it gets (one call for every span): it runs on every candidate
        if left <= 0:
            append((m.start(value_group), hi))
            break
        left -= 1
        regs = m.regs
        ks, ke = regs[key_group]
        if ks and text[ks - 1] in _KEY_CHARS:  # (_key_start, inline)
            head = text[max(0, ks - 80) : ks]
            ks -= len(head) - len(head.rstrip(_KEY_CHARS_STR))
        vs, ve = regs[value_group]
        # A value holding an operator may hold a key of its own: masked whole with the rest.
        value = low[vs:ve]
        key = text[ks:ke]
        if get(key, True) is not None and value.strip("\"'") not in _LITERALS or not _NESTED_CHARS.isdisjoint(value):
            append((vs, _header_end(text, key, ve) if ke - ks >= 13 else ve))
    budgets[1] = left
    return spans


def spent(memo: dict) -> bool:  # type: ignore[type-arg]
    """Has the scan looked at or judged as many candidates as it may?"""
    budgets = memo[BUDGET]
    return budgets[0] <= 0 or budgets[2] <= 0 or budgets[4] <= 0


def cached_key_class(key: str, memo: dict) -> KeyClass | None:  # type: ignore[type-arg]
    """classify_key, once per distinct key in a scan (the memo's string keys are key names)."""
    kc = memo.get(key, False)
    if kc is False:
        kc = memo[key] = classify_key(key)
    return kc
