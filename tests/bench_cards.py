"""Benchmark (issue 13): the inline card (anywidget) beside the side panel, in Chromium with a real JupyterLab.

Runs labextension/ui-tests/bench_cards.mjs (render of a 1,000-event session, event -> card latency, and approve ->
job running with the real kernel side, each measured for the panel and the inline card in the same run) and adds
the inline/panel ratios. Needs node, Debian's chromium and the built extension (`cd labextension && npm run build`).

Run: .venv/bin/python tests/bench_cards.py [approve rounds]   (prints one JSON line last)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    node = shutil.which("node")
    chromium = os.environ.get("MLINTERN_CHROMIUM", "/usr/bin/chromium")
    if node is None or not Path(chromium).exists() or not (ROOT / "mlintern_jupyter/static/card.js").exists():
        print(json.dumps({"bench": "cards", "error": "needs node, chromium and the built extension and card"}))
        return 1
    env = {k: v for k, v in os.environ.items() if k not in ("MLINTERN_LAB_URL", "MLINTERN_LAB_TOKEN")}
    rounds = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MLINTERN_BENCH_RUNS", "5")
    proc = subprocess.run([node, "ui-tests/bench_cards.mjs", rounds], cwd=ROOT / "labextension", env=env,
                          capture_output=True, text=True, timeout=1200)
    lines = proc.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(line)
    if proc.returncode != 0 or not lines:
        print(json.dumps({"bench": "cards", "error": (proc.stderr.strip() or proc.stdout.strip())[-500:]}))
        return 1
    figures = json.loads(lines[-1])
    panel, inline = figures["panel"], figures["inline"]

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 2) if b else None

    figures["inline_over_panel"] = {
        "render": ratio(inline["render_ms"], panel["render_ms"]),
        "event_to_card_p50": ratio(inline["event_to_card_ms_p50"], panel["event_to_card_ms_p50"]),
        "event_to_card_p95": ratio(inline["event_to_card_ms_p95"], panel["event_to_card_ms_p95"]),
        "approve_to_running": ratio(inline["approve_to_running"]["median_ms"],
                                    panel["approve_to_running"]["median_ms"]),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
