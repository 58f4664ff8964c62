"""Reads the test samples out of Go rule sources (gitleaks rule definitions, trufflehog detector tests) without
a Go toolchain: a small evaluator for the expressions those files build their samples with.

Supported: string literals and `+`, `fmt.Sprintf` (%s, %d, %v), `strings.Repeat/ToUpper/ToLower/Join`,
`[]string{...}` and `map[string]string{...}` literals, `append(x, y...)`, local `:=`/`=`/`var` bindings, and the
generators gitleaks writes its samples with: `secrets.NewSecret(regex)` (a random string matching the regex, as
lucasjones/reggen draws it with limit 1), the `utils.*` charset helpers and `utils.GenerateSampleSecrets` (its
two dozen assignment contexts, copied as a template at run time from the fetched utils/generate.go). Statements
it cannot evaluate (loops, local helpers) are counted and reported, not guessed.
"""

from __future__ import annotations

import ast
import base64
import random
import re
import string
from dataclasses import dataclass, field
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " "
_TOKEN_RE = re.compile(
    r"(?P<comment>//[^\n]*|/\*.*?\*/)|(?P<raw>`[^`]*`)|(?P<str>\"(?:\\.|[^\"\\\n])*\")|(?P<rune>'(?:\\.|[^'\\\n])+')"
    r"|(?P<num>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<nl>\n)|(?P<op>\.\.\.|:=|==|!=|&&|\|\||\+=|[-+*/%=<>!&|^.,;:(){}\[\]])|(?P<ws>[ \t\r]+)",
    re.S,
)
_ENDS_STATEMENT = {")", "]", "}"}


class Unsupported(Exception):
    """An expression this evaluator does not model (a loop, a local helper, an unknown call)."""


class Tagged(str):
    """A sample text that knows its secret (built by GenerateSampleSecrets)."""

    secret: str


def tokenize(src: str) -> list[tuple[str, object]]:
    """Go tokens with semicolons inserted at line ends as the Go spec does."""
    out: list[tuple[str, object]] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN_RE.match(src, pos)
        if not m:
            raise Unsupported(f"cannot tokenize at {src[pos : pos + 20]!r}")
        pos = m.end()
        kind, text = m.lastgroup, m.group()
        if kind in ("ws", "comment") and "\n" not in text:
            continue
        if kind == "nl" or kind == "comment":
            if out and (out[-1][0] in ("str", "num", "name") or out[-1][1] in _ENDS_STATEMENT):
                out.append(("op", ";"))
            continue
        if kind == "raw":
            out.append(("str", text[1:-1].replace("\r", "")))
        elif kind in ("str", "rune"):
            out.append(("str", ast.literal_eval(text)))  # Go's escapes are Python's
        elif kind == "num":
            out.append(("num", int(text)))
        else:
            out.append((kind or "op", text))
    return out


def functions(src: str) -> dict[str, list[tuple[str, object]]]:
    """Each top-level `func Name(...) ... { body }` as its body's tokens."""
    toks = tokenize(src)
    found: dict[str, list[tuple[str, object]]] = {}
    i = 0
    while i < len(toks):
        if toks[i] == ("name", "func") and i + 1 < len(toks) and toks[i + 1][0] == "name":
            name = str(toks[i + 1][1])
            j = i + 2
            depth = 0
            while j < len(toks) and not (
                toks[j] == ("op", "{") and depth == 0 and toks[j - 1][1] not in ("]", "interface", "struct")
            ):
                depth += toks[j][1] == "(" and 1 or 0
                depth -= toks[j][1] == ")" and 1 or 0
                j += 1
            end = _matching(toks, j)
            found[name] = toks[j + 1 : end]
            i = end
        i += 1
    return found


def _matching(toks: list[tuple[str, object]], start: int) -> int:
    depth = 0
    for k in range(start, len(toks)):
        if toks[k][0] == "op" and toks[k][1] in "({[":
            depth += 1
        elif toks[k][0] == "op" and toks[k][1] in ")}]":
            depth -= 1
            if depth == 0:
                return k
    return len(toks) - 1


def package_bindings(src: str) -> list[list[tuple[str, object]]]:
    """Top-level `var`/`const` bindings (single or in a parenthesised block), as `var NAME = EXPR` statements."""
    toks = tokenize(src)
    out: list[list[tuple[str, object]]] = []
    i, depth = 0, 0
    while i < len(toks):
        tok = toks[i]
        if depth == 0 and tok[1] in ("var", "const") and tok[0] == "name":
            if i + 1 < len(toks) and toks[i + 1] == ("op", "("):
                end = _matching(toks, i + 1)
                out.extend([("name", "var"), *stmt] for stmt in statements(toks[i + 2 : end]))
            else:
                end = next((k for k in range(i, len(toks)) if toks[k] == ("op", ";")), len(toks))
                out.append(toks[i:end])
            i = end + 1
            continue
        if tok[0] == "op" and tok[1] in "({[":
            depth += 1
        elif tok[0] == "op" and tok[1] in ")}]":
            depth -= 1
        i += 1
    return out


def statements(body: list[tuple[str, object]]) -> list[list[tuple[str, object]]]:
    out, cur, depth = [], [], 0
    for tok in body:
        if tok[0] == "op" and tok[1] in "({[":
            depth += 1
        elif tok[0] == "op" and tok[1] in ")}]":
            depth -= 1
        if tok == ("op", ";") and depth == 0:
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(tok)
    if cur:
        out.append(cur)
    return out


# --- regex -> sample string (reggen's draw: unbounded repeats add at most `limit` more) -------------------


@dataclass
class Generator:
    rng: random.Random
    limit: int = 1
    made: list[str] = field(default_factory=list)

    def secret(self, pattern: str) -> str:
        pattern = pattern.replace(r"\z", r"\Z").replace("[[:alnum:]]", "[A-Za-z0-9]").replace("(?-i:", "(?:")
        text = self._gen(sre_parse.parse(pattern), {})
        self.made.append(text)
        return text

    def _chars(self, items: list, ignore_case: bool = False) -> str:  # type: ignore[type-arg]
        negate = any(op is sre_c.NEGATE for op, _ in items)
        chosen = set()
        for op, av in items:
            if op is sre_c.LITERAL:
                chosen.add(chr(av))
            elif op is sre_c.RANGE:
                chosen.update(chr(c) for c in range(av[0], av[1] + 1) if c < 0x250)
            elif op is sre_c.CATEGORY:
                test = {
                    sre_c.CATEGORY_DIGIT: str.isdigit,
                    sre_c.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
                    sre_c.CATEGORY_SPACE: str.isspace,
                }.get(av)
                neg = {
                    sre_c.CATEGORY_NOT_DIGIT: str.isdigit,
                    sre_c.CATEGORY_NOT_WORD: lambda c: c.isalnum() or c == "_",
                    sre_c.CATEGORY_NOT_SPACE: str.isspace,
                }.get(av)
                if test:
                    chosen.update(c for c in PRINTABLE + "\t" if test(c))
                elif neg:
                    chosen.update(c for c in PRINTABLE if not neg(c))
        if negate:
            chosen = set(PRINTABLE) - chosen
        return "".join(sorted(chosen)) or "x"

    def _gen(self, tree, groups: dict[int, str]) -> str:  # type: ignore[no-untyped-def]
        out = []
        for op, av in tree:
            if op is sre_c.LITERAL:
                out.append(chr(av))
            elif op is sre_c.NOT_LITERAL:
                out.append(self.rng.choice(PRINTABLE.replace(chr(av), "")))
            elif op is sre_c.ANY:
                out.append(self.rng.choice(string.ascii_letters + string.digits))
            elif op is sre_c.IN:
                out.append(self.rng.choice(self._chars(av)))
            elif op is sre_c.CATEGORY:
                out.append(self.rng.choice(self._chars([(op, av)])))
            elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None)):
                lo, hi, sub = av
                hi = lo + self.limit if hi == sre_c.MAXREPEAT else hi
                out.extend(self._gen(sub, groups) for _ in range(self.rng.randint(lo, hi)))
            elif op is sre_c.SUBPATTERN:
                text = self._gen(av[-1], groups)
                if av[0]:
                    groups[av[0]] = text
                out.append(text)
            elif op is sre_c.BRANCH:
                out.append(self._gen(self.rng.choice(av[1]), groups))
            elif op is sre_c.GROUPREF:
                out.append(groups.get(av, ""))
            elif op is getattr(sre_c, "ATOMIC_GROUP", None):
                out.append(self._gen(av, groups))
            # AT (anchors), ASSERT, ASSERT_NOT: no text
        return "".join(out)


# --- expression evaluation -------------------------------------------------------------------------------

CHARSETS = {
    "Numeric": "[0-9]{%s}",
    "Hex": "[a-f0-9]{%s}",
    "AlphaNumeric": "[a-z0-9]{%s}",
    "AlphaNumericExtendedShort": "[a-z0-9_-]{%s}",
    "AlphaNumericExtended": r"[a-z0-9=_\-]{%s}",
    "AlphaNumericExtendedLong": r"[a-z0-9\/=_\+\-]{%s}",
}


_CONSTANTS: dict[str, object] = {"nil": None, "true": True, "false": False}


@dataclass
class Evaluator:
    gen: Generator
    sample_templates: list[str]  # GenerateSampleSecrets' contexts, {i} {I} {s}
    env: dict[str, object] = field(default_factory=dict)
    toks: list[tuple[str, object]] = field(default_factory=list)
    pos: int = 0

    def run(self, stmt: list[tuple[str, object]]) -> tuple[str, object] | None:
        """Evaluate a binding statement; returns (name, value), or None for other statements."""
        head = [t[1] for t in stmt[:4]]
        if head[:2] in (["var", "("], ["const", "("]):
            for inner in statements(stmt[2 : _matching(stmt, 1)]):
                self.run([("name", "var"), *inner])
            return None
        if head[:1] in (["var"], ["const"]):
            stmt = stmt[1:]
            eq = next((k for k, t in enumerate(stmt) if t == ("op", "=")), None)
            if eq is None:
                return None
            name, expr = stmt[0][1], stmt[eq + 1 :]
        elif len(stmt) > 2 and stmt[0][0] == "name" and stmt[1][1] in (":=", "=", "+="):
            name, expr = stmt[0][1], stmt[2:]
        else:
            return None
        self.toks, self.pos = expr, 0
        value = self.expr()
        if stmt[1][1] == "+=":
            value = self.env[str(name)] + value  # type: ignore[operator]
        self.env[str(name)] = value
        return str(name), value

    def peek(self) -> object:
        return self.toks[self.pos][1] if self.pos < len(self.toks) else None

    def take(self, want: object = None) -> tuple[str, object]:
        if self.pos >= len(self.toks) or (want is not None and self.toks[self.pos][1] != want):
            raise Unsupported(f"expected {want!r} at {self.toks[self.pos : self.pos + 3]!r}")
        self.pos += 1
        return self.toks[self.pos - 1]

    def expr(self) -> object:
        value = self.unary()
        while self.peek() == "+":
            self.take()
            value = value + self.unary()  # type: ignore[operator]
        return value

    def unary(self) -> object:
        kind, text = self.take()
        if kind == "str":
            value: object = text
        elif kind == "num":
            value = text
        elif text == "(":
            value = self.expr()
            self.take(")")
        elif text == "[":  # []string{...}, []byte(x), []struct{...}{...}
            self.take("]")
            if self.peek() == "struct":
                self.take()
                self.pos = _matching(self.toks, self.pos) + 1
            self.typename()
            value = self.composite(keyed=False) if self.peek() == "{" else self.call_args()[0]
        elif text == "map":
            self.take("[")
            self.typename()
            self.take("]")
            self.typename()
            value = self.composite(keyed=True)
        elif kind == "name":
            path = str(text)
            while self.peek() == ".":
                self.take()
                path += "." + str(self.take()[1])
            if self.peek() == "(":
                value = self.call(path, self.call_args())
            elif self.peek() == "{" and path.startswith("config."):
                raise Unsupported(path)
            elif path in self.env:
                value = self.env[path]
            elif path in _CONSTANTS:
                value = _CONSTANTS[path]
            else:
                raise Unsupported(f"unknown name {path}")
        else:
            raise Unsupported(f"unexpected {text!r}")
        while self.peek() == "[":
            self.take()
            lo = self.expr() if self.peek() != ":" else 0
            if self.peek() == ":":
                self.take()
                hi = self.expr() if self.peek() != "]" else None
                value = value[lo:hi]  # type: ignore[index,misc]
            else:
                value = value[lo]  # type: ignore[index]
            self.take("]")
        return value

    def typename(self) -> None:
        while self.peek() in ("*", ".") or (
            self.pos < len(self.toks) and self.toks[self.pos][0] == "name" and self.peek() != "map"
        ):
            self.take()
            if self.peek() not in (".", "*") and (self.pos >= len(self.toks) or self.toks[self.pos][0] != "name"):
                break

    def composite(self, keyed: bool) -> list[object] | dict[str, object]:
        """A slice or map literal as the list of its values; a struct literal (`{name: x}`) as a dict."""
        self.take("{")
        items: list[object] = []
        fields: dict[str, object] = {}
        while self.peek() not in ("}", None):
            if self.peek() == ";":
                self.take()
                continue
            if self.toks[self.pos][0] == "name" and self.pos + 1 < len(self.toks) and self.toks[self.pos + 1][1] == ":":
                key = str(self.take()[1])
                self.take(":")
                fields[key] = self.expr()
            else:
                value = self.expr() if self.peek() != "{" else self.composite(keyed=False)
                if self.peek() == ":":
                    self.take()
                    value = self.expr() if self.peek() != "{" else self.composite(keyed=False)
                items.append(value)
            if self.peek() == ",":
                self.take()
        self.take("}")
        return fields if fields and not items else items

    def call_args(self) -> list[object]:
        self.take("(")
        args: list[object] = []
        while self.peek() not in (")", None):
            if self.peek() == ";":
                self.take()
                continue
            value = self.expr()
            if self.peek() == "...":
                self.take()
                args.extend(value)  # type: ignore[arg-type]
            else:
                args.append(value)
            if self.peek() == ",":
                self.take()
        self.take(")")
        return args

    def call(self, path: str, args: list[object]) -> object:
        name = path.rsplit(".", 1)[-1]
        if path in ("secrets.NewSecret", "newPlausibleSecret"):
            return self.gen.secret(str(args[0]))
        if path.startswith("utils.") and name in CHARSETS:
            return CHARSETS[name] % args[0]
        if path == "utils.Hex8_4_4_4_12":
            return "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        if path == "utils.GenerateSampleSecrets":
            return [self.tagged(t, str(args[0]), str(args[1])) for t in self.sample_templates]
        if path == "utils.GenerateSampleSecret":
            return self.tagged('{i}_api_token = "{s}"', str(args[0]), str(args[1]))
        if path == "append":
            return [*args[0], *args[1:]]  # type: ignore[misc]
        if path == "fmt.Sprintf":
            values = iter(args[1:])
            return re.sub(r"%[sdvq]", lambda _: str(next(values)), str(args[0])).replace("%%", "%")
        if path == "strings.Repeat":
            return str(args[0]) * int(args[1])  # type: ignore[call-overload]
        if path == "strings.TrimSpace":
            return str(args[0]).strip()
        if path in ("strings.ToUpper", "strings.ToLower"):
            return str(args[0]).upper() if name == "ToUpper" else str(args[0]).lower()
        if path == "strings.Join":
            return str(args[1]).join(map(str, args[0]))  # type: ignore[call-overload]
        if path.startswith("base64.") and name == "EncodeToString":
            encoding = path.split(".")[1]
            data = str(args[0]).encode()
            encoded = (base64.urlsafe_b64encode if "URL" in encoding else base64.b64encode)(data).decode()
            return encoded.rstrip("=") if encoding.startswith("Raw") else encoded
        if path in ("string", "byte"):
            return args[0]
        raise Unsupported(f"call {path}")

    @staticmethod
    def tagged(template: str, ident: str, secret: str) -> Tagged:
        text = Tagged(template.replace("{i}", ident).replace("{I}", ident.upper()).replace("{s}", secret))
        text.secret = secret
        return text


def sample_templates(generate_go: str) -> list[str]:
    """The contexts of gitleaks' GenerateSampleSecrets, read from its `samples := map[string]string{...}`."""
    body = functions(generate_go)["GenerateSampleSecrets"]
    for stmt in statements(body):
        if stmt[0] == ("name", "samples"):
            ev = Evaluator(Generator(random.Random(0)), [])
            ev.toks, ev.pos = stmt[2:], 0
            return [str(v) for v in ev.expr()]  # type: ignore[union-attr]
    raise Unsupported("GenerateSampleSecrets has no samples map")
