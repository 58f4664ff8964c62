"""Evaluate a model driving the agent on ML tasks, graded on its trajectory (the session's event log).

Each task (tests/agent_eval/tasks.py) runs in a real Session with the notebook's tools and system prompt against
the loopback Hub, GitHub and search fakes (tests/fakes/), a scripted person answering approvals. The graders
(mlintern_jupyter/evaluation/graders.py) check the log: dataset inspected before training, the script pushes
its result, the timeout fits, one job before a sweep, no silent substitution, the answer quotes numbers the
job printed, no denied action retried unchanged, cost within budget; plus each task's own checks.

Run: .venv/bin/python scripts/eval_agent.py --model anthropic/claude-sonnet-4-5 [--tasks id,id] [--json]
Without --model: MLINTERN_MODEL, else the first provider whose key is set. No key: says so and exits 0.
Not part of the test run: it calls a real model and costs money (the budget of each task caps it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def missing_key(model: str) -> str | None:
    """The credential variable the model needs and lacks (None when it has one or needs none)."""
    if model == "demo" or model.startswith("scripted:"):
        return None
    import litellm

    try:
        missing = litellm.validate_environment(model).get("missing_keys") or []
    except Exception:  # noqa: BLE001 - an unknown model is reported by the session itself
        return None
    keys = [k for k in missing if k.endswith(("_API_KEY", "_TOKEN", "_KEY"))]
    return keys[0] if keys else None


def summary(runs: list) -> dict:
    rows = []
    for run in runs:
        rows.append({"task": run.task.id, "end": run.end, "model_calls": run.model_calls,
                     "llm_cost_usd": round(run.llm_cost_usd, 4), "compute_cost_usd": round(run.compute_cost_usd, 4),
                     "rules": {v.rule: v.passed for v in run.verdicts},
                     "reasons": {v.rule: v.reason for v in run.verdicts if v.passed is False},
                     "checks": dict(run.checks)})
    graded = [p for r in rows for p in (*r["rules"].values(), *r["checks"].values()) if p is not None]
    return {"bench": "agent_eval", "tasks": rows, "passed": sum(graded), "graded": len(graded)}


def print_table(result: dict) -> None:
    for row in result["tasks"]:
        marks = " ".join("n/a" if p is None else ("pass" if p else "FAIL") for p in row["rules"].values())
        checks = " ".join("pass" if p else "FAIL" for p in row["checks"].values())
        print(f"{row['task']:<20} {row['end']:<16} {marks}  checks: {checks or '-'}  "
              f"${row['llm_cost_usd'] + row['compute_cost_usd']:.2f}")
        for rule, reason in row["reasons"].items():
            print(f"    {rule}: {reason}")
    print(f"passed {result['passed']} of {result['graded']} graded rules and checks")


async def evaluate(model_name: str, task_ids: list[str], max_iterations: int) -> dict:
    from mlintern_jupyter.agent.models import resolve_model
    from tests.agent_eval.runner import run_task
    from tests.agent_eval.tasks import TASKS

    chosen = [t for t in TASKS if not task_ids or t.id in task_ids]
    runs = []
    for task in chosen:
        home = Path(tempfile.mkdtemp(prefix=f"mlintern_eval_{task.id}_"))
        print(f"== {task.id}", flush=True)
        runs.append(await run_task(task, resolve_model(model_name), home, max_iterations=max_iterations))
    return {**summary(runs), "model": model_name}


def main() -> int:
    from tests.agent_eval.tasks import TASKS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="any litellm model string")
    parser.add_argument("--tasks", default="", help="comma-separated subset of: " + ", ".join(t.id for t in TASKS))
    parser.add_argument("--max-iterations", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="print the figures as a last JSON line")
    args = parser.parse_args()
    from mlintern_jupyter.control.model_choice import choose_model

    model = choose_model(args.model, None, "")
    key = missing_key(model) if model else None
    if model is None or key:
        why = (f"no API key: {key} is not set for {model}" if model else
               "no API key: none of ANTHROPIC_API_KEY, OPENAI_API_KEY, HF_TOKEN is set and no --model was given")
        why += "; nothing was evaluated"
        print(why)
        if args.json:
            print(json.dumps({"bench": "agent_eval", "skipped": why, "tasks": [t.id for t in TASKS]}))
        return 0
    unknown = {t for t in args.tasks.split(",") if t} - {t.id for t in TASKS}
    if unknown:
        parser.error(f"unknown task(s): {', '.join(sorted(unknown))}")
    result = asyncio.run(evaluate(model, [t for t in args.tasks.split(",") if t], args.max_iterations))
    print_table(result)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
