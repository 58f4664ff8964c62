"""Redaction: recall, false positives and speed of our redactor against the baseline's, measured side by side.

Corpus (tests/fixtures/redaction/corpus.py): every credential format of formats.py alone and in a dozen of 47
context syntaxes, plus placeholders, references and ML look-alikes as negatives. A secret counts as caught when
neither it nor any 12-character piece of it survives. Benign code: every .py file of this interpreter's
standard library, and 50 MB of the installed third-party packages (site-packages); a change is one placeholder
inserted. Throughput: a 5 MB mixed log (ML logs, events, code,
1% secrets) as one string and as 4 KB chunks. Pathological inputs: 1 MB each (needles repeated, long runs,
unbalanced quotes, ...); the slowest counts. Times are CPU seconds of the redacting process (best of 2-3).

The baseline is the redactor of `--baseline` (default: main, or, once main has this redactor, the last main
commit before it), extracted from git into a temporary directory. Each redactor runs in its own subprocess.

Run: python tests/bench_redact.py [--baseline REF]   (not collected by pytest; last line is the figures as JSON)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "redaction"
PLACEHOLDER = re.compile(r"\[REDACTED:[A-Z0-9_]{1,64}\]")
MB = 1_000_000


# --- measurements (run inside a worker, on whichever redactor is importable) ----------------------------

def leaked(secret: str, text: str, out: str) -> bool:
    """Does the secret, or any 12-character piece of it that was not already in the text around it, survive?"""
    forms = {secret, json.dumps(secret)[1:-1], secret.replace("\n", "\\n")}
    for form in forms:
        around = text.replace(form, "")
        for line in form.splitlines() or [form]:
            n = min(12, len(line))
            if n < 6:
                continue
            for i in range(len(line) - n + 1):
                piece = line[i : i + n]
                if piece in out and out.count(piece) > around.count(piece):
                    return True
    return False


def corpus_figures(redact) -> dict:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(FIXTURES))
    from corpus import build_corpus

    corpus = build_corpus()
    by_format: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # context caught/total, alone caught/total
    by_syntax: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for sample in corpus["positives"]:
        caught = not leaked(sample["secret"], sample["text"], redact(sample["text"]))
        alone = sample["context"] == "alone"
        row = by_format[sample["format"]]
        row[2 if alone else 0] += caught
        row[3 if alone else 1] += 1
        by_syntax[sample["context"]][0] += caught
        by_syntax[sample["context"]][1] += 1
    changed = [n for n in corpus["negatives"] if redact(n["text"]) != n["text"]]
    ctx = [sum(r[0] for r in by_format.values()), sum(r[1] for r in by_format.values())]
    alone = [sum(r[2] for r in by_format.values()), sum(r[3] for r in by_format.values())]
    return {
        "formats": len(by_format),
        "positives": ctx[1] + alone[1],
        "syntaxes": len(by_syntax) - 1,
        "recall_context": round(ctx[0] / ctx[1], 4),
        "recall_alone": round(alone[0] / alone[1], 4),
        "negatives": len(corpus["negatives"]),
        "negatives_changed": round(len(changed) / len(corpus["negatives"]), 4),
        "negatives_changed_examples": [n["text"][:100] for n in changed[:8]],
        "missed_alone": sorted(f for f, r in by_format.items() if r[3] and not r[2]),
        "weak_context_formats": sorted(f for f, r in by_format.items() if r[1] and r[0] < r[1]),
        "weak_syntaxes": {k: round(v[0] / v[1], 3) for k, v in sorted(by_syntax.items()) if v[0] < v[1]},
    }


def _code_figures(redact, files: list[Path], name: str) -> dict:  # type: ignore[no-untyped-def]
    size = changes = 0
    kinds: Counter[str] = Counter()
    started = time.process_time()
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        size += len(text.encode())
        out = redact(text)
        added = PLACEHOLDER.findall(out)
        before = len(PLACEHOLDER.findall(text))
        if len(added) > before:
            changes += len(added) - before
            kinds.update(m[10:-1] for m in added)
    took = time.process_time() - started
    return {f"{name}_mb": round(size / MB, 1), f"{name}_changes": changes, f"{name}_changes_per_mb": round(changes / (size / MB), 3),
            f"{name}_mb_per_s": round(size / MB / took, 2), f"{name}_kinds": dict(kinds.most_common(8))}


def stdlib_figures(redact) -> dict:  # type: ignore[no-untyped-def]
    root = Path(sysconfig.get_paths()["stdlib"])
    return _code_figures(redact, sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts), "stdlib")


def thirdparty_figures(redact) -> dict:  # type: ignore[no-untyped-def]
    """Installed third-party packages (this environment's site-packages: Jupyter, litellm, huggingface_hub, ...):
    files in an order fixed by a hash of their path, up to 50 MB; files over 2 MB (generated tables) left out."""
    root = Path(sysconfig.get_paths()["purelib"])
    files = sorted((p for p in root.rglob("*.py") if p.stat().st_size <= 2 * MB and "mlintern_jupyter" not in p.parts),
                   key=lambda p: hashlib.sha256(str(p.relative_to(root)).encode()).hexdigest())
    chosen, total = [], 0
    for path in files:
        if total >= 50 * MB:
            break
        chosen.append(path)
        total += path.stat().st_size
    figures = _code_figures(redact, chosen, "thirdparty")
    figures["thirdparty_packages"] = len({p.relative_to(root).parts[0] for p in chosen})
    return figures


def mixed_log(size: int = 5 * MB) -> str:
    sys.path.insert(0, str(FIXTURES))
    from corpus import build_corpus

    rng = random.Random(5)
    benign = json.loads((FIXTURES / "benign.json").read_text())
    secrets = [p["text"] for p in build_corpus()["positives"]]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    code = [(stdlib / name).read_text(encoding="utf-8") for name in ("argparse.py", "json/decoder.py", "logging/__init__.py")]
    parts, total = [], 0
    while total < size:
        roll = rng.random()
        if roll < 0.01:
            piece = rng.choice(secrets)
        elif roll < 0.06:
            src = rng.choice(code)
            start = rng.randrange(len(src) - 2000)
            piece = src[start : start + rng.randint(200, 2000)]
        elif roll < 0.2:
            piece = json.dumps({"kind": "tool_output", "seq": total, "content": rng.choice(benign)})
        else:
            piece = rng.choice(benign)
        parts.append(piece)
        total += len(piece) + 1
    return "\n".join(parts)[:size]


def throughput_figures(redact) -> dict:  # type: ignore[no-untyped-def]
    text = mixed_log()
    best_whole = min(_timed(redact, text) for _ in range(3))
    chunks = [text[i : i + 4096] for i in range(0, len(text), 4096)]
    best_chunks = min(sum(_timed(redact, c) for c in chunks) for _ in range(2))
    return {"log_mb": round(len(text) / MB, 2), "log_mb_per_s": round(len(text) / MB / best_whole, 2),
            "chunks_4k_mb_per_s": round(len(text) / MB / best_chunks, 2)}


def _timed(redact, text: str) -> float:  # type: ignore[no-untyped-def]
    """CPU seconds of this process (the machine may be shared; wall time would measure the neighbours)."""
    started = time.process_time()
    redact(text)
    return time.process_time() - started


def pathological_inputs() -> dict[str, str]:
    """1 MB inputs built to trip backtracking, prefilter floods and window merging."""
    rng = random.Random(9)
    needles = ["hf_", "sk-", "ghp_", "AKIA", "eyJ", "xoxb-", "token=", "password: ", "key ", "Bearer ", "Basic ", "://",
               "-u ", "Q~", "|", "-us", ".atlasv1.", "s.", "AAAA", "_mmk", "<password>", "name: X_TOKEN\n", "sig="]
    b64 = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(4096))
    units = {
        "all needles": "".join(needles),
        "hf_ repeated": "hf_", "sk- repeated": "sk-", "token= repeated": "token=", "password: repeated": "password: ",
        "key repeated": "key", "Q~ repeated": "Q~", "pipes": "|", "://a: repeated": "://a:", "-u a:b repeated": "-u a:b ",
        "quotes": '"', "single quotes": "'", "backslashes": "\\", "equals": "=", "dashes": "-", "letters": "a",
        "digits": "0", "spaces": " ", "newlines": "\n", "a1 lines": "a1" * 300 + "\n", "base64 line": b64,
        "base64 lines": b64[:76] + "\n", "hex": "0123456789abcdef", "nested assignment": "a_token=b_token=",
        "xml open": "<password>", "k8s pairs": "- name: A_TOKEN\n  value: ", "ansi": "\x1b[31m", "json keys": '{"token": ',
        "escaped json": '\\"token\\": \\"', "yaml colons": "token: token: ", "private key": "-----BEGIN PRIVATE KEY-----",
        "jwt start": "eyJhbGciOi.", "twitter A": "A", "urls": "https://user:", "bearer words": "Bearer Bearer ",
        "query pairs": "key=1&", "yaml lines": "token: x\n", "flow pairs": "token:x,", "json lines": '{"token": 1}\n',
        "env lines": "a_token=1\n",
    }
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

    def distinct(template: str, *lengths: int) -> str:  # every value different: nothing to remember, all to judge
        parts, size = [], 0
        while size < MB:
            parts.append(template.format(*("".join(rng.choice(alnum) for _ in range(n)) for n in lengths)))
            size += len(parts[-1])
        return "".join(parts)[:MB]

    return {name: (unit * (MB // len(unit) + 1))[:MB] for name, unit in units.items()} | {
        "random printable": "".join(rng.choice(" \t\n!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~") for _ in range(MB)),
        "distinct query tokens": distinct("api_token={}&", 32),
        "distinct .env tokens": distinct("export SERVICE_TOKEN={}\n", 40),
        "distinct yaml tokens": distinct("token: {}\n", 24),
        "distinct passwords": distinct("pwd={}&", 12),
        "lone random lines": distinct("{}\n", 20),
        "lone user:pass lines": distinct("deploy:{}\n", 14),
        "distinct ghp_ tokens": distinct("ghp_{} ", 36),
        "distinct sk- keys": distinct("sk-{} ", 48),
        "distinct hf_ lines": distinct("hf_{}\n", 34),
        "distinct bearer headers": distinct("Authorization: Bearer {}\n", 40),
        "distinct private keys": distinct("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", 64),
        # Shapes that set off several kinds of judgment on every value (each kind has its own budget).
        "distinct yaml sk- keys": distinct("token: sk-{}\n", 48),
        "distinct query ghp_ tokens": distinct("api_token=ghp_{}&", 36),
        "lone lines and passwords": distinct("{}\npwd={}&x\n", 20, 12),
        "lone lines and yaml tokens": distinct("{}\ntoken: {}\n", 24, 24),
        # Every masked value printed again bare: echoes are found by one more automaton over the masked values.
        "echoed .env tokens": distinct("export SERVICE_TOKEN={0}\necho {0}\n", 40),
        "echoed query tokens": distinct("api_token={0}&x={0}&", 32),
    }


def pathological_figures(redact) -> dict:  # type: ignore[no-untyped-def]
    times = {name: round(min(_timed(redact, text) for _ in range(2)), 3) for name, text in pathological_inputs().items()}
    worst = max(times, key=times.__getitem__)
    return {"worst_s_per_mb": times[worst], "worst_input": worst, "pathological_s": times}


def worker(parts: list[str]) -> None:
    from mlintern_jupyter.agent.redact import Redactor

    redactor = Redactor()
    figures: dict = {}
    for part in parts:
        figures.update(globals()[f"{part}_figures"](redactor.redact))
    print(json.dumps(figures))


# --- the driver --------------------------------------------------------------------------------------------

def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def baseline_ref(requested: str | None) -> str:
    """main, unless main already has this redactor (redact_rules a package): then the last main before it."""
    if requested:
        return requested
    if subprocess.run(["git", "cat-file", "-e", "main:mlintern_jupyter/agent/redact_rules.py"], cwd=ROOT, capture_output=True).returncode == 0:
        return "main"
    return git("rev-list", "-1", "main", "--", "mlintern_jupyter/agent/redact_rules.py").strip() + "^"


def extract(ref: str, into: Path) -> None:
    (into / "mlintern_jupyter" / "agent").mkdir(parents=True)
    (into / "mlintern_jupyter" / "__init__.py").write_text("")
    (into / "mlintern_jupyter" / "agent" / "__init__.py").write_text("")
    for path in git("ls-tree", "-r", "--name-only", ref, "mlintern_jupyter/agent/").split():
        if "/redact" in path:
            target = into / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(git("show", f"{ref}:{path}"))


def run_worker(pythonpath: Path, parts: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    proc = subprocess.run([sys.executable, __file__, "--worker", ",".join(parts)], env=env, capture_output=True, text=True,
                          timeout=1800, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=None)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--parts", default="corpus,stdlib,thirdparty,throughput,pathological")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker.split(","))
        return 0
    parts = args.parts.split(",")
    ref = baseline_ref(args.baseline)
    commit = git("rev-parse", "--short", ref).strip()
    with tempfile.TemporaryDirectory(prefix="redact_baseline_") as tmp:
        extract(ref, Path(tmp))
        for part in parts:  # interleaved, so both see the same machine
            print(f"== {part}", flush=True)
        ours, base = {}, {}
        for part in parts:
            ours.update(run_worker(ROOT, [part]))
            base.update(run_worker(Path(tmp), [part]))
            print(f"   {part}: ours {_brief(ours, part)} | baseline {_brief(base, part)}", flush=True)
    for detail in ("missed_alone", "weak_context_formats", "negatives_changed_examples", "weak_syntaxes", "pathological_s"):
        base.pop(detail, None)  # the baseline's long lists would drown the report; its headline figures stay
    print(json.dumps({"bench": "redact", "baseline_ref": ref, "baseline_commit": commit, "ours": ours, "baseline": base}))
    return 0


def _brief(f: dict, part: str) -> str:
    keys = {"corpus": ("recall_context", "recall_alone", "negatives_changed"), "stdlib": ("stdlib_changes_per_mb", "stdlib_mb_per_s"),
            "thirdparty": ("thirdparty_changes_per_mb", "thirdparty_mb_per_s"),
            "throughput": ("log_mb_per_s", "chunks_4k_mb_per_s"), "pathological": ("worst_s_per_mb", "worst_input")}[part]
    return ", ".join(f"{k}={f.get(k)}" for k in keys)


if __name__ == "__main__":
    sys.exit(main())
