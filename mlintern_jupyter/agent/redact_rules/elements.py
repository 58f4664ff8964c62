"""Element and pair syntaxes, where the key and the value are apart: XML elements (also with the value on its
own line), name/value pairs (Kubernetes and GitHub Actions env lists, `<add key=... value=...>`,
`{"name": ..., "value": ...}`), reversed comparisons (`"..." == apiKey`) and `auth=(user, password)` tuples.
The patterns live in :mod:`.context` with the assignment pattern; the verdict is :func:`.values.judge`'s."""

from __future__ import annotations

from collections.abc import Iterator

from .context import (
    AUTH_TUPLE_RE,
    BUDGET,
    NAME_FIELD_RE,
    REVERSE_CMP_RE,
    VALUE_FIELD_RE,
    XML_RE,
    cached_key_class,
    spent,
)
from .keys import classify_key
from .values import judge, password_like, unquote


def element_spans(text: str, low: str, lo: int, hi: int, memo: dict) -> Iterator[tuple[int, int, str]]:  # type: ignore[type-arg]
    """XML elements (`<apiToken>...</apiToken>`, also over three lines), name/value pairs, reversed
    comparisons and `auth=(user, password)` tuples in text[lo:hi] (`low`: text lower-cased). Each pattern
    runs only if the window holds the literal it cannot match without (a cheap substring test)."""
    window = low[lo:hi]
    xml, pairs = "</" in window, "val" in window or "default" in window
    compare, tuples = "==" in window or "!=" in window, "auth" in window and "(" in window
    budgets = memo[BUDGET]
    for m in XML_RE.finditer(low, lo, hi if xml else lo):
        budgets[0] -= 1
        key = text[m.start("key") : m.end("key")]
        if spent(memo):  # spent: unjudged, unless the key is known to be benign
            if memo.get(key, True) is not None:
                yield m.start("value"), m.end("value"), "SECRET"
            continue
        kc = cached_key_class(key, memo)
        if kc is None:
            continue
        value = text[m.start("value") : m.end("value")].rstrip()
        budgets[2] -= 1
        budgets[4] -= 1
        if judge(kc, value, quoted=True):
            yield m.start("value"), m.start("value") + len(value), kc.kind
    for m in NAME_FIELD_RE.finditer(low, lo, hi if pairs else lo):
        budgets[0] -= 1
        name = text[m.start("name") : m.end("name")]
        unjudged = spent(memo)
        kc = memo.get(name, True) if unjudged else cached_key_class(name, memo)
        if kc is None:
            continue
        stop = min(hi, m.end() + 300)
        nxt = NAME_FIELD_RE.search(low, m.end(), stop)
        if nxt is not None:
            stop = nxt.start()
        v = VALUE_FIELD_RE.search(low, m.end(), stop)
        if v is None or text.count("\n", m.end(), v.start()) > 2:
            continue
        vs, ve = v.span("value")
        if unjudged or kc is True:  # spent: unjudged (the name is not known to be benign)
            yield vs, ve, "SECRET"
            continue
        a, b, quoted = unquote(text[vs:ve])
        budgets[2] -= 1
        budgets[4] -= 1
        if judge(kc, text[vs + a : vs + b], quoted=quoted):
            yield vs + a, vs + b, kc.kind
    for m in REVERSE_CMP_RE.finditer(text, lo, hi if compare else lo):
        kc = classify_key(m.group("key"))
        vs, ve = m.span("value")
        if kc is not None and judge(kc, text[vs + 1 : ve - 1], quoted=True, op="=="):
            yield vs + 1, ve - 1, kc.kind
    for m in AUTH_TUPLE_RE.finditer(low, lo, hi if tuples else lo):
        value = text[m.start("value") : m.end("value")]
        if password_like(value, True):
            yield m.start("value"), m.end("value"), "PASSWORD"
