"""Benchmark: issue 11's attacks through the reliability matrix, counted in one line (the Measure of issue 11).

Run with `PYTHONPATH=. python tests/bench_attacks.py` (not collected by pytest). It runs the matrix's attack files
(tests/reliability/test_secrets.py: attacks 1-4; tests/reliability/test_attacks.py: attacks 5-9 and 14) in `ask`,
`auto` and `deny` against a real kernel and the loopback fakes, and prints the tally the matrix wrote (attacks
tried, and how many reached a secret, spent beyond the cap, touched another person's resource or ran without the
click their mode requires; goal 0 in every mode) as a last JSON line.

Side by side in the same run, the guards' cost and worth: the matrix's controls run an attack again with one
defence switched back to main's old behaviour (the real guards otherwise; nothing is mocked), so the figures
compare, for the same attacks and modes, what got through and the cards a person was shown per tool call with the
defence and without it, and the seconds a run took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ["tests/reliability/test_secrets.py", "tests/reliability/test_attacks.py"]


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="mlintern_bench_attacks_") as folder:
        report = Path(folder) / "matrix.json"
        env = {**os.environ, "MLINTERN_MATRIX_REPORT": str(report), "PYTHONPATH": str(ROOT),
               "MLINTERN_HOME": str(Path(folder) / "home")}
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "pytest", *FILES, "-q", "-p", "no:randomly", "--timeout", "300"],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        took = time.monotonic() - started
        tail = proc.stdout.strip().splitlines()[-1:] or ["no output"]
        if not report.exists():
            return {"bench": "attacks", "error": f"pytest exit {proc.returncode}: {tail[0]}"}
        figures = json.loads(report.read_text())
    figures["guards_cost"] = guards_cost(figures.get("guards", {}))
    figures.update(bench="attacks", seconds=round(took, 1), pytest_exit=proc.returncode, pytest_summary=tail[0])
    return figures


def guards_cost(sides: dict[str, dict[str, float]]) -> dict[str, float | None]:
    """Cards per tool call and seconds per run, with the defences (the controlled attacks, and all of them) and
    with one defence off (the controls), and the ratios with / without."""
    def per(side: str, num: str, den: str) -> float | None:
        row = sides.get(side, {})
        return round(row[num] / row[den], 3) if row.get(den) else None

    out = {f"{key}_{name}": per(side, num, den) for side, name in (("on", "all"), ("on, controlled", "on"),
                                                                   ("off", "off"))
           for key, num, den in (("cards_per_call", "cards", "calls"), ("seconds_per_run", "seconds", "runs"))}
    for key in ("cards_per_call", "seconds_per_run"):
        on, off = out[f"{key}_on"], out[f"{key}_off"]
        out[f"{key}_ratio"] = round(on / off, 2) if on is not None and off else None
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
