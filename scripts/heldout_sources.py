"""Extractors of scripts/heldout_redaction.py: the positive and negative samples of gitleaks, trufflehog and
detect-secrets, read from their git directories (see that script's docstring for what is taken from each)."""

from __future__ import annotations

import ast
import importlib
import random
import re
import subprocess
import sys
import tempfile
import tomllib
import warnings
from dataclasses import dataclass, field

from heldout_go import (
    Evaluator,
    Generator,
    Tagged,
    Unsupported,
    functions,
    package_bindings,
    sample_templates,
    statements,
)


@dataclass
class Source:
    name: str
    commit: str
    positives: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (rule, text, secrets)
    negatives: list[tuple[str, str]] = field(default_factory=list)  # (rule, text)
    unread: list[str] = field(default_factory=list)  # statements/tests that could not be evaluated


def git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, text=True, check=True).stdout


def ls(git_dir: str, path: str) -> list[str]:
    return git(git_dir, "ls-tree", "-r", "--name-only", "HEAD", path).split()


def show(git_dir: str, path: str) -> str:
    return git(git_dir, "show", f"HEAD:{path}")


# --- gitleaks -----------------------------------------------------------------------------------------------


def _go_regex(pattern: str) -> re.Pattern[str] | None:
    pattern = pattern.replace(r"\z", r"\Z")
    if pattern.startswith("(?i)") is False and "(?i)" in pattern:
        pattern = "(?i)" + pattern.replace("(?i)", "")
    try:
        with warnings.catch_warnings():  # RE2 character classes Python reads as possibly nested sets
            warnings.simplefilter("ignore", FutureWarning)
            return re.compile(pattern)
    except re.error:
        return None


def _rule_secrets(text: str, regex: re.Pattern[str] | None, group: int) -> list[str]:
    """What a gitleaks rule captures in text: its secretGroup, else the first non-empty group, else the match."""
    found = []
    for m in regex.finditer(text) if regex else ():
        if group:
            found.append(m.group(group) or "")
        else:
            found.append(next((g for g in m.groups() if g), m.group()))
    return [s for s in found if s]


def gitleaks(git_dir: str, rng: random.Random) -> Source:
    src = Source("gitleaks", git(git_dir, "rev-parse", "--short", "HEAD").strip())
    templates = sample_templates(show(git_dir, "cmd/generate/config/utils/generate.go"))
    config = tomllib.loads(show(git_dir, "config/gitleaks.toml"))
    regexes = {r["id"]: (_go_regex(r.get("regex", "")), r.get("secretGroup", 0)) for r in config["rules"]}
    for path in ls(git_dir, "cmd/generate/config/rules/"):
        if not path.endswith(".go") or path.endswith("_test.go"):
            continue
        code = show(git_dir, path)
        package = _package_env(code, rng, templates)
        for fname, body in functions(code).items():
            ids = [
                body[k + 2][1]
                for k in range(len(body) - 2)
                if body[k] == ("name", "RuleID") and body[k + 1] == ("op", ":")
            ]
            if not ids:
                continue
            rule = str(ids[0])
            gen = Generator(rng)
            ev = Evaluator(gen, templates, dict(package))
            for stmt in statements(body):
                try:
                    ev.run(stmt)
                except (Unsupported, KeyError, TypeError, IndexError, StopIteration) as exc:
                    if stmt[0][1] in ("tps", "fps"):
                        src.unread.append(f"{rule} ({path.rsplit('/', 1)[-1]} {fname}): {exc}")
            regex, group = regexes.get(rule, (None, 0))
            for text in _strings(ev.env.get("tps", [])):
                if isinstance(text, Tagged):
                    secrets = [text.secret]
                else:
                    secrets = _rule_secrets(text, regex, group) or [
                        max((m for m in gen.made if m in text), key=len, default="")
                    ]
                # curl-auth-user captures `user:password`; the user name is not the secret.
                secrets = [s.split(":", 1)[1] if rule == "curl-auth-user" and ":" in s else s for s in secrets if s]
                if secrets:
                    src.positives.append((rule, text, secrets))
                else:
                    src.unread.append(f"{rule}: no secret found in a sample")
            src.negatives.extend((rule, text) for text in _strings(ev.env.get("fps", [])))
    return src


def _package_env(code: str, rng: random.Random, templates: list[str]) -> dict[str, object]:
    """The file's package-level bindings that can be evaluated (sample lists shared by several rules)."""
    ev = Evaluator(Generator(rng), templates)
    for stmt in package_bindings(code):
        try:
            ev.run(stmt)
        except (Unsupported, KeyError, TypeError, IndexError, StopIteration):
            pass
    return ev.env


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        value = list(value.values())
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


# --- trufflehog ---------------------------------------------------------------------------------------------


def trufflehog(git_dir: str, rng: random.Random) -> Source:
    src = Source("trufflehog", git(git_dir, "rev-parse", "--short", "HEAD").strip())
    for path in ls(git_dir, "pkg/detectors/"):
        if not path.endswith("_test.go") or "integration" in path:
            continue
        code = show(git_dir, path)
        if "_Pattern(" not in code:
            continue
        rule = path.split("/")[-2]
        try:
            ev = Evaluator(Generator(rng), [], _package_env(code, rng, []))
            for fname, body in functions(code).items():
                if not fname.endswith("_Pattern"):
                    continue
                for stmt in statements(body):
                    if stmt[0] == ("name", "tests"):
                        ev.run(stmt)
                        _truffle_cases(src, rule, ev.env["tests"])
        except (Unsupported, KeyError, TypeError, IndexError, StopIteration) as exc:
            src.unread.append(f"{rule}: {exc}")
    return src


# Detectors report a secret together with the host it belongs to; the host is not the secret.
_HOST_RE = re.compile(
    r"(?i)(?:[a-z]+:)?/*[\w.@-]+\.(?:com|net|org|io|co|local|corp|cloud|dev|app|lk|internal)(?::\d+)?(?:/\S*)?"
)
_URL_CREDENTIALS_RE = re.compile(r"[a-z][a-z0-9+.-]*://[^:@/\s]+:([^@/\s]+)@", re.I)


def _pieces(want: str, text: str) -> list[str]:
    """The longest runs of `want` (8+ characters) that occur in text: a reported credential that joins an id
    and a secret (`<key><secret>`, `<id>:<secret>`) written apart in the input."""
    out, i = [], 0
    while i < len(want):
        j = next((j for j in range(len(want), i + 7, -1) if want[i:j] in text), None)
        if j is None:
            i += 1
            continue
        out.append(want[i:j])
        i = j
    return out


def _secret_part(want: str) -> str:
    """A connection URI's secret is its password."""
    m = _URL_CREDENTIALS_RE.match(want)
    return m.group(1) if m else want


def _truffle_cases(src: Source, rule: str, cases: object) -> None:
    for case in cases if isinstance(cases, list) else []:
        if not isinstance(case, dict) or not isinstance(case.get("input"), str):
            continue
        text, wants = case["input"], [w for w in case.get("want") or [] if isinstance(w, str)]
        if not wants:
            src.negatives.append((rule, text))
            continue
        secrets = []
        for want in wants:
            parts = [want] if want in text else _pieces(want, text)
            secrets.extend(_secret_part(p) for p in parts if not _HOST_RE.fullmatch(p))
        if secrets:
            src.positives.append((rule, text, secrets))
        else:
            src.unread.append(f"{rule}: want not found in input: {wants[0][:60]!r} in {text[:80]!r}")


# --- detect-secrets -----------------------------------------------------------------------------------------

_SAFE_NODES = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.BinOp,
    ast.Add,
    ast.Mod,
    ast.Mult,
    ast.Call,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.Tuple,
    ast.List,
    ast.keyword,
    ast.UnaryOp,
    ast.USub,
)
_SAFE_CALLS = {"format", "dedent", "join", "upper", "lower", "strip", "encode", "decode"}


def _literal(node: ast.expr, names: dict[str, object]) -> object:
    """Evaluate a test-table expression made of literals, module constants and string methods only."""
    for sub in ast.walk(node):
        if not isinstance(sub, _SAFE_NODES):
            raise ValueError(type(sub).__name__)
        if isinstance(sub, ast.Call) and not (isinstance(sub.func, ast.Attribute) and sub.func.attr in _SAFE_CALLS):
            raise ValueError("call")
    import textwrap

    return eval(
        compile(ast.Expression(node), "<table>", "eval"), {"__builtins__": {}, "textwrap": textwrap}, dict(names)
    )


def detect_secrets(git_dir: str, rng: random.Random) -> Source:
    src = Source("detect-secrets", git(git_dir, "rev-parse", "--short", "HEAD").strip())
    with tempfile.TemporaryDirectory(prefix="heldout_ds_") as tmp:
        archive = subprocess.run(
            ["git", f"--git-dir={git_dir}", "archive", "HEAD", "detect_secrets"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        sys.path.insert(0, tmp)
        try:
            for path in ls(git_dir, "tests/plugins/"):
                name = path.rsplit("/", 1)[-1]
                if not name.endswith("_test.py") or name.startswith(("high_entropy", "ip_public", "base_")):
                    continue
                _ds_file(src, name[: -len("_test.py")], show(git_dir, path))
        finally:
            sys.path.remove(tmp)
            for mod in [m for m in sys.modules if m == "detect_secrets" or m.startswith("detect_secrets.")]:
                del sys.modules[mod]
    return src


def _ds_file(src: Source, rule: str, code: str) -> None:
    tree = ast.parse(code)
    names: dict[str, object] = {}
    detector = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                names[node.targets[0].id] = _literal(node.value, names)
            except Exception:  # noqa: BLE001 - a constant we cannot evaluate is just not available
                pass
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("detect_secrets.plugins"):
            for alias in node.names:
                if alias.name.endswith("Detector"):
                    detector = getattr(importlib.import_module(node.module), alias.name)()
    for deco in (d for d in ast.walk(tree) if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "parametrize"):
        argnames = [a.strip() for a in _literal(deco.args[0], {}).split(",")]  # type: ignore[union-attr]
        if not set(argnames) & {"payload", "line", "file_content"}:
            continue
        rows = deco.args[1].elts if isinstance(deco.args[1], ast.List) else []
        for row in rows:
            try:
                values = _literal(row, names)
            except Exception as exc:  # noqa: BLE001
                src.unread.append(f"{rule}: {exc}")
                continue
            values = dict(zip(argnames, values if isinstance(values, tuple) else (values,), strict=False))
            text = next(values[k] for k in ("payload", "line", "file_content") if k in values)
            flag = values.get("should_flag", values.get("expected_secret", True))
            if not flag:
                src.negatives.append((rule, text))
                continue
            secrets = [flag] if isinstance(flag, str) else _ds_found(detector, text)
            if secrets:
                src.positives.append((rule, text, secrets))
            else:
                src.unread.append(f"{rule}: no secret reported for a positive")


def _ds_found(detector: object, text: str) -> list[str]:
    if detector is None:
        return []
    found = detector.analyze_line(filename="mock_filename", line=text)  # type: ignore[attr-defined]
    return sorted({s.secret_value for s in found if s.secret_value})
