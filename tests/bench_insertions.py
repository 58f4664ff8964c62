"""Benchmark (issue 13 item 1): cells per insertion over repeated headless runs (goal: exactly one, every time).

Two paths, each run RUNS times in a fresh kernel and a fresh MLINTERN_HOME: the quickstart notebook (nbclient,
as scripts/run_quickstart.py runs it) and a notebook with two `--new` demo sessions (the demo model reuses call
ids across sessions). After each run the headless writer places the cells from the log; a run counts as exact when
every cell_insert event has exactly one cell, right below the `%%intern` cell that asked for it. The Chromium
paths (Run All with the panel open, two sessions) are in labextension/ui-tests/bench_insertions.mjs.

Run: python tests/bench_insertions.py [--runs 20]   (prints one JSON line last)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlintern_jupyter.control.notebook_cells import insert_id, place_inserted_cells  # noqa: E402

TWO_SESSIONS = ["%load_ext mlintern_jupyter", "from sklearn.datasets import load_digits\ndigits = load_digits()",
                "%%intern --model demo --approve auto --budget 1 --wait\nTrain a classifier on `digits`.",
                "%%intern --model demo --new --approve auto --budget 1 --wait\nTrain another one on `digits`.",
                "print('the end')"]


def notebook(path: str) -> nbformat.NotebookNode:
    if path == "quickstart":
        return nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in TWO_SESSIONS])


def audit(nb: nbformat.NotebookNode, home: Path) -> tuple[bool, int, str]:
    """(exact, insertions, why not): one cell per insertion, each right below its %%intern cell's block."""
    inserts = []
    for log in (home / "sessions").glob("*/events.jsonl"):
        for line in log.read_text().splitlines():
            event = json.loads(line)
            if event["kind"] == "cell_insert":
                inserts.append(insert_id(event["session_id"], event["call_id"]))
    ids = [c.metadata.get("mlintern", {}).get("insert_id") for c in nb.cells]
    for stable in inserts:
        if ids.count(stable) != 1:
            return False, len(inserts), f"{stable}: {ids.count(stable)} cells"
        above = ids.index(stable) - 1
        while above >= 0 and ids[above]:
            above -= 1
        if not nb.cells[above].source.startswith("%%intern"):
            return False, len(inserts), f"{stable}: below {nb.cells[above].source[:30]!r}"
    return bool(inserts), len(inserts), "" if inserts else "no insertion"


def run_once(path: str, work: Path) -> tuple[bool, int, str, float]:
    home = work / "home"
    os.environ["MLINTERN_HOME"] = str(home)
    os.environ["IPYTHONDIR"] = str(work / "ipython")
    nb = notebook(path)
    started = time.monotonic()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    place_inserted_cells(nb, home)
    exact, count, why = audit(nb, home)
    return exact, count, why, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    figures: dict = {"bench": "insertions", "runs": args.runs}
    for path in ("quickstart", "two_sessions"):
        exact = insertions = 0
        failures: list[str] = []
        seconds: list[float] = []
        for i in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="mlintern_bench_ins_") as work:
                ok, count, why, took = run_once(path, Path(work))
            exact += ok
            insertions += count
            seconds.append(took)
            if not ok:
                failures.append(f"run {i}: {why}")
            print(f"headless {path} run {i}: {'exact' if ok else 'NOT exact: ' + why} ({took:.1f} s)", flush=True)
        figures[f"headless_{path}"] = {"exact_runs": exact, "insertions": insertions, "failures": failures[:5],
                                       "mean_s": round(sum(seconds) / len(seconds), 1)}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
