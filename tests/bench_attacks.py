"""Benchmark: issue 11's attacks through the reliability matrix, counted in one line (the Measure of issue 11).

Run with `PYTHONPATH=. python tests/bench_attacks.py` (not collected by pytest). It runs the matrix's attack files
(tests/reliability/test_secrets.py: attacks 1-4; tests/reliability/test_attacks.py: attacks 5-9 and 14) in `ask`,
`auto` and `deny` against a real kernel and the loopback fakes, and prints the tally the matrix wrote (attacks
tried, and how many reached a secret, spent beyond the cap, touched another person's resource or ran without the
click their mode requires; goal 0 in every mode) as a last JSON line.
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
    figures.update(bench="attacks", seconds=round(took, 1), pytest_exit=proc.returncode, pytest_summary=tail[0])
    return figures


if __name__ == "__main__":
    print(json.dumps(main()))
