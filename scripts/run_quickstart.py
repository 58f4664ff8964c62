"""Run notebooks/quickstart.ipynb headless (nbclient) and say where the results are.

There is no frontend to insert the cells the agent writes, so they are written into the executed notebook from the
session's event log, right below the `%%intern` cell that asked for them (`place_inserted_cells`). The `%%intern`
outputs keep their static record and drop the widget view (`static_records`), so the executed notebook reads the
same in `jupyter nbconvert --to html`, on GitHub and on nbviewer, with no kernel and no widget JavaScript.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from mlintern_jupyter.control.notebook_cells import place_inserted_cells
from mlintern_jupyter.control.readable_records import static_records

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notebook", default=str(ROOT / "notebooks" / "quickstart.ipynb"))
    parser.add_argument("--out", default=str(ROOT / "build" / "quickstart.executed.ipynb"))
    args = parser.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MLINTERN_HOME", str(ROOT / "build" / "mlintern-home"))
    os.environ.setdefault("IPYTHONDIR", tempfile.mkdtemp(prefix="mlintern-ipython-"))
    notebook = nbformat.read(args.notebook, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(out.parent)}})
    client.execute()
    placed = place_inserted_cells(notebook, Path(os.environ["MLINTERN_HOME"]))
    static_records(notebook)
    nbformat.write(notebook, out)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    home = Path(os.environ["MLINTERN_HOME"])
    sessions = sorted((home / "sessions").glob("*/events.jsonl"), key=lambda p: p.stat().st_mtime)
    print(f"executed notebook: {out} ({len(placed)} cell(s) the agent wrote, below its %%intern cell)")
    if sessions:
        session_dir = sessions[-1].parent
        print(f"session log:       {session_dir / 'events.jsonl'}")
        print(f"trace:             {session_dir / 'trace.jsonl'}")
        exported = out.parent / "quickstart_session.ipynb"
        if exported.exists():
            print(f"exported session:  {exported}")
        print(f"scripts:           {session_dir / 'scripts'}")
        answer = [json.loads(line) for line in sessions[-1].read_text().splitlines() if '"assistant_message"' in line]
        if answer:
            print("\nfinal answer:\n" + answer[-1]["text"])
    if errors:
        print(f"\n{len(errors)} cell(s) raised: {errors[0].get('ename')}: {errors[0].get('evalue')}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
