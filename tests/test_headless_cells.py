"""Headless runs write the agent's cells into the executed notebook from the event log, right below their
`%%intern` cell, exactly once (issue 13 item 1): the quickstart runner, and two `--new` demo sessions in one
notebook (the demo model reuses call ids across sessions, so only session id + call id tells them apart)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mlintern_jupyter.agent.models.demo import TRAIN_SCRIPT
from mlintern_jupyter.control.notebook_cells import place_inserted_cells

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.kernel


def inserted(nb) -> list[tuple[int, str]]:
    return [(i, c.metadata["mlintern"]["insert_id"]) for i, c in enumerate(nb.cells)
            if c.metadata.get("mlintern", {}).get("insert_id")]


def insert_events(home: Path) -> list[tuple[str, str]]:
    found = []
    for log in (home / "sessions").glob("*/events.jsonl"):
        for line in log.read_text().splitlines():
            event = json.loads(line)
            if event["kind"] == "cell_insert":
                found.append((event["session_id"], event["call_id"]))
    return found


def test_headless_quickstart_has_the_script_cell_once_right_below_intern(tmp_path) -> None:
    home, out = tmp_path / "home", tmp_path / "out" / "quickstart.executed.ipynb"
    env = {**os.environ, "MLINTERN_HOME": str(home), "IPYTHONDIR": str(tmp_path / "ipython")}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_quickstart.py"), "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 cell(s) the agent wrote" in proc.stdout
    nb = nbformat.read(out, as_version=4)
    ((index, stable),) = inserted(nb)
    assert nb.cells[index - 1].source.startswith("%%intern --model demo")
    assert nb.cells[index].source == TRAIN_SCRIPT and nb.cells[index].execution_count is None
    assert nb.cells[index + 1].source == "%intern status"  # the notebook's own cells keep their order
    assert [f"{s}:{c}" for s, c in insert_events(home)] == [stable]
    assert place_inserted_cells(nb, home) == []  # a second writer finds it and writes nothing
    assert "the script is in the new cell below" in proc.stdout.lower()


def test_two_new_demo_sessions_each_get_their_cell_below_their_own_intern_cell(tmp_path, monkeypatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MLINTERN_HOME", str(home))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    cells = ["%load_ext mlintern_jupyter", "from sklearn.datasets import load_digits\ndigits = load_digits()",
             "%%intern --model demo --approve auto --budget 1 --wait\nTrain a classifier on `digits`.",
             "%%intern --model demo --new --approve auto --budget 1 --wait\nTrain another one on `digits`.",
             "print('the end')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells])
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    placed = place_inserted_cells(nb, home)
    events = insert_events(home)
    assert len(events) == 2 and events[0][1] == events[1][1]  # the same call id in both sessions
    assert len(placed) == 2 and len(set(placed)) == 2
    sources = [c.source for c in nb.cells]
    assert sources[2].startswith("%%intern --model demo --approve") and sources[3] == TRAIN_SCRIPT
    assert sources[4].startswith("%%intern --model demo --new") and sources[5] == TRAIN_SCRIPT
    assert sources[6] == "print('the end')" and len(sources) == 7
    assert [nb.cells[3].metadata["mlintern"]["session_id"], nb.cells[5].metadata["mlintern"]["session_id"]] == \
        [s for s, _ in sorted(events, key=lambda e: placed.index(f"{e[0]}:{e[1]}"))]
