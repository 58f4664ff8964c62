"""The playbook side by side with huggingface/ml-intern's prompt and tool schemas (issue 15).

- tokens of the system prompt and of the tool schemas, by litellm's token_counter for a Claude and a GPT model:
  ours as a notebook session signed in to the loopback Hub sends them (playbook + session context, the built-in
  and notebook tools), ml-intern's default (sandbox) mode as its ContextManager renders it;
- concepts of tests/fixtures/concepts.json covered out of 30, by the same regexes on both texts;
- ml-intern-shaped calls (tests/ml_intern_calls.py, one per operation of its tools) that validate, pass the
  approval gate and run against the fakes with the result the table expects;
- agreement of the trajectory graders with the labels of the scripted trajectories (tests/test_eval_graders.py:
  hand-built logs, and real session logs from the evaluation harness with a careful and a careless scripted model).

ml-intern's figures were measured from its source at the commit in REFERENCE; `--reference GIT_DIR` (a clone)
measures them again in this run. Its text is never stored here, only these figures.

Run: python tests/bench_playbook.py [--reference PATH]   (not collected by pytest)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MODELS = {"claude": "anthropic/claude-sonnet-4-5", "gpt": "gpt-4o"}
# Measured with --reference on a clone of huggingface/ml-intern (19 tools: sandbox_create, bash, read, write,
# edit and the 14 built-ins; system_prompt_v3.yaml with its session-context line).
REFERENCE: dict[str, Any] = {
    "commit": "d9283ec565bf622e79af3eed539744c93398ce00", "tools": 19,
    "system_tokens": {"claude": 3906, "gpt": 3894}, "tools_tokens": {"claude": 8715, "gpt": 8607},
    "concepts": 27, "missing": ["kto_format", "report_measured_numbers", "checkpoints_resume"],
}


def tokens(system: str, tools: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    """(system prompt tokens, tool schema tokens) per model; the schemas counted as what they add to a request."""
    import litellm

    messages = [{"role": "system", "content": system}]
    alone = {k: litellm.token_counter(model=m, messages=messages) for k, m in MODELS.items()}
    both = {k: litellm.token_counter(model=m, messages=messages, tools=tools) for k, m in MODELS.items()}
    return alone, {k: both[k] - alone[k] for k in MODELS}


def ours() -> dict[str, Any]:
    """What a notebook session signed in to the loopback Hub sends."""
    from mlintern_jupyter.agent.models.wire import fit_tools
    from mlintern_jupyter.agent.session_context import KernelSummary, SessionFacts, build_session_context, system_prompt
    from mlintern_jupyter.tools.hub_account import HubAccount
    from tests.agent_eval.runner import notebook_tools, tools_config
    from tests.concepts import missing_concepts, sent_text
    from tests.fakes import FakeGitHub, FakeHub, FakeSearch

    with FakeHub() as hub, FakeGitHub() as gh, FakeSearch() as search:
        config = tools_config(hub, gh, search, Path(tempfile.mkdtemp(prefix="mlintern_bench_playbook_")))
        registry = notebook_tools(config)
        account = HubAccount().facts(config)
    facts = SessionFacts(now=datetime.now().astimezone(), runtime="hf", tool_count=len(registry), has_token=True,
                         hf_user=account.user, hf_orgs=account.orgs, hardware=account.hardware,
                         hardware_source=account.hardware_source, notebook="finetune.ipynb",
                         kernel=KernelSummary("3.11.9", 4, None, (("df", "DataFrame"), ("tok", "PreTrainedTokenizerFast"))))
    system = system_prompt(build_session_context(facts))
    tools, _names = fit_tools(registry.schemas(), None)
    system_tokens, tools_tokens = tokens(system, tools)
    text = sent_text(system, tools)
    missing = missing_concepts(text)
    return {"tools": len(tools), "system_tokens": system_tokens, "tools_tokens": tools_tokens,
            "concepts": 30 - len(missing), "missing": missing,
            "project_concepts_missing": missing_concepts(text, "project")}


def reference(git_dir: Path) -> dict[str, Any]:
    from tests.concepts import missing_concepts, sent_text
    from tests.ml_intern_reference import Reference

    ref = Reference(git_dir)
    specs = ref.tools()
    system = ref.system_prompt(specs)
    tools = [{"type": "function", "function": spec} for spec in specs]
    system_tokens, tools_tokens = tokens(system, tools)
    missing = missing_concepts(sent_text(system, specs))
    return {"commit": ref.commit(), "tools": len(specs), "system_tokens": system_tokens,
            "tools_tokens": tools_tokens, "concepts": 30 - len(missing), "missing": missing}


# Labels of the harness's real session logs (text-classifier task): what each rule must say.
CAREFUL = {"dataset inspected before training": True, "script pushes its result": True, "timeout fits": True,
           "no silent substitution": True, "answer quotes numbers the job printed": True, "cost within budget": True}
CARELESS = {"dataset inspected before training": False, "script pushes its result": False, "timeout fits": False,
            "answer quotes numbers the job printed": False, "no denied action retried unchanged": False}


def graders() -> dict[str, Any]:
    from mlintern_jupyter.evaluation import graders as g
    from tests.agent_eval.runner import run_task
    from tests.agent_eval.tasks import TASKS
    from tests.test_eval_graders import CASES, EXPECT, good, scripted_engineer

    agree = labelled = 0
    for rule, bad in CASES:
        for log, label in ((good(), True), (bad(), False)):
            labelled += 1
            agree += rule(g.parse(log.events), EXPECT if label else g.Expect(EXPECT.datasets, EXPECT.models)).passed \
                is label
    real_agree = real_labelled = 0
    task = next(t for t in TASKS if t.id == "text-classifier")
    for careful, labels in ((True, CAREFUL), (False, CARELESS)):
        home = Path(tempfile.mkdtemp(prefix="mlintern_bench_graders_"))
        run = asyncio.run(run_task(task, scripted_engineer(careful), home, max_iterations=12))
        verdicts = {v.rule: v.passed for v in run.verdicts}
        real_labelled += len(labels)
        real_agree += sum(verdicts.get(rule) is label for rule, label in labels.items())
    return {"hand_built": {"agree": agree, "labelled": labelled},
            "session_logs": {"agree": real_agree, "labelled": real_labelled}}


def ml_intern_calls() -> dict[str, int]:
    from tests.fakes.s2 import FakeSemanticScholar
    from tests.fakes.slack import FakeSlack
    from tests.ml_intern_calls import ROWS
    from tests.test_ml_intern_calls import accepted, replay

    with FakeSemanticScholar() as s2, FakeSlack() as slack:
        replayed = replay(Path(tempfile.mkdtemp(prefix="mlintern_bench_calls_")), ROWS, s2, slack)
    return {"accepted": sum(accepted(*r) for r in replayed), "table": len(ROWS)}


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, default=None, help="git dir of a huggingface/ml-intern clone")
    args = parser.parse_args()
    mine = ours()
    ref = {**reference(args.reference), "source": "measured in this run"} if args.reference else \
        {**REFERENCE, "source": f"recorded from its source at {REFERENCE['commit'][:7]}"}
    agreement = graders()
    calls = ml_intern_calls()
    for name, f in (("ours", mine), ("ml-intern", ref)):
        total = {k: f["system_tokens"][k] + f["tools_tokens"][k] for k in MODELS}
        print(f"{name:<10} system {f['system_tokens']}  tools ({f['tools']}) {f['tools_tokens']}  total {total}  "
              f"concepts {f['concepts']}/30 missing {f['missing']}")
    print(f"ml-intern-shaped calls accepted: {calls['accepted']}/{calls['table']}")
    print(f"graders: {agreement}")
    figures = {"bench": "playbook", "ours": mine, "reference": ref, "graders": agreement, "ml_intern_calls": calls}
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
