"""The evaluation tasks: an ML request, what it names (for the substitution rule), its budget, how the person
answers approvals, and task-specific checks on the trajectory besides the general rules of `graders`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlintern_jupyter.evaluation.graders import Expect, Trajectory, launches, script_of

# An approval card's action -> feedback to deny it with, or None to approve.
Approver = Callable[[dict[str, Any]], str | None]
Check = tuple[str, Callable[[Trajectory], bool]]


def approve_all(action: dict[str, Any]) -> str | None:
    return None


def deny_expensive_gpus(limit_per_hour: float, prices: dict[str, float]) -> Approver:
    def decide(action: dict[str, Any]) -> str | None:
        flavor = str(action.get("hardware_flavor") or "")
        if prices.get(flavor, 0.0) > limit_per_hour:
            return f"{flavor} is too expensive for this; use hardware under ${limit_per_hour:.2f}/h."
        return None
    return decide


@dataclass(frozen=True)
class EvalTask:
    id: str
    prompt: str
    expect: Expect
    approver: Approver = approve_all
    checks: tuple[Check, ...] = field(default_factory=tuple)
    # Extra state of the world before the session starts (e.g. a job that already ran).
    setup: Callable[[Any], None] | None = None


def timed_out_job(hub: Any) -> None:
    """An SFT job that was killed at its 30-minute timeout after pushing a checkpoint."""
    from huggingface_hub import HfApi

    lines = [f"{{'loss': {1.9 - 0.1 * i:.4f}, 'epoch': {0.1 * i:.2f}}}" for i in range(1, 5)]
    lines += ["Saving checkpoint-1200 and pushing to fake-user/smollm-sft (last-checkpoint)",
              "Job timeout reached (1800 s): stopping the job"]
    hub.next_job(lines, final_stage="ERROR", message="Job timeout reached (1800 s)")
    HfApi(endpoint=hub.url, token=hub.token).run_job(image="python:3.12", command=["python", "train_sft.py"],
                                                      flavor="a10g-small", timeout=1800, namespace=hub.user)


def _scripts(t: Trajectory) -> list[str]:
    return [script_of(c, t) for c in launches(t)]


def _answer_cites(t: Trajectory) -> bool:
    return bool(re.search(r"\b\d{4}\.\d{4,5}\b|arxiv\.org/|huggingface\.co/papers/", t.answer))


def _relaunch_keeps_scope(t: Trajectory) -> bool:
    """No switch to LoRA and no shorter sequences: the OOM fix must not change what the person gets."""
    scripts = _scripts(t)
    lengths = {int(n) for s in scripts for n in re.findall(r"max_(?:seq_)?length\s*=\s*(\d+)", s)}
    lora = any(re.search(r"LoraConfig|get_peft_model|peft_config", s) for s in scripts)
    return bool(scripts) and not lora and lengths <= {1024}


def _relaunch_resumes(t: Trajectory) -> bool:
    return any("resume_from_checkpoint" in s for s in _scripts(t))


def _card(t: Trajectory) -> bool:
    uploads = [c for c in t.calls if c.tool == "hf_repo_files" and "README" in str(c.arguments)]
    return bool(uploads) or any(re.search(r"model.card|ModelCard|README\.md|create_model_card", s, re.I)
                                for s in _scripts(t))


def _audit_findings(t: Trajectory) -> bool:
    text = t.answer.lower()
    return "duplicate" in text and ("imbalance" in text or "imbalanced" in text) and "empty" in text


OOM_SCRIPT = '''from datasets import load_dataset
from trl import SFTConfig, SFTTrainer

dataset = load_dataset("HuggingFaceH4/no_robots")
config = SFTConfig(output_dir="qwen-sft", per_device_train_batch_size=32, max_length=1024, num_train_epochs=1,
                   learning_rate=2e-5, push_to_hub=True, hub_model_id="fake-user/qwen-no-robots",
                   report_to="trackio", disable_tqdm=True, logging_first_step=True)
trainer = SFTTrainer(model="Qwen/Qwen2.5-0.5B-Instruct", args=config, train_dataset=dataset["train"],
                     eval_dataset=dataset["test"])
trainer.train()
'''

PRICES = {"a10g-small": 1.0, "a10g-large": 1.5, "l40sx1": 1.8, "a100-large": 2.5, "h100": 4.5, "a100x4": 10.0,
          "h200": 5.0, "a100x8": 20.0, "h100x8": 36.0}

TASKS: tuple[EvalTask, ...] = (
    EvalTask("text-classifier", "Fine-tune distilbert/distilbert-base-uncased on stanfordnlp/imdb for sentiment "
             "and push it to my namespace as distilbert-imdb. Report its test accuracy.",
             Expect(datasets=("stanfordnlp/imdb",), models=("distilbert/distilbert-base-uncased",), budget_usd=5.0),
             approver=deny_expensive_gpus(2.0, PRICES)),
    EvalTask("sft-chat", "SFT HuggingFaceTB/SmolLM2-135M-Instruct on HuggingFaceH4/no_robots with TRL and push it as "
             "smollm-no-robots.", Expect(datasets=("HuggingFaceH4/no_robots",),
                                         models=("HuggingFaceTB/SmolLM2-135M-Instruct",), budget_usd=5.0)),
    EvalTask("dpo", "Align HuggingFaceTB/SmolLM2-135M-Instruct with DPO on trl-lib/ultrafeedback_binarized and push "
             "the result as smollm-dpo.", Expect(datasets=("trl-lib/ultrafeedback_binarized",),
                                                 models=("HuggingFaceTB/SmolLM2-135M-Instruct",), budget_usd=5.0)),
    EvalTask("eval-benchmark", "Evaluate Qwen/Qwen2.5-0.5B-Instruct on GSM8K (5-shot) and tell me its score.",
             Expect(datasets=("openai/gsm8k",), models=("Qwen/Qwen2.5-0.5B-Instruct",), budget_usd=3.0),
             checks=(("answer names the benchmark and n-shot",
                      lambda t: "gsm8k" in t.answer.lower() and re.search(r"5.shot", t.answer) is not None),)),
    EvalTask("dataset-audit", "Audit fake-org/support-tickets before we train on it: what is wrong with it?",
             Expect(datasets=("fake-org/support-tickets",), budget_usd=1.0),
             checks=(("answer reports duplicates, imbalance and empty texts", _audit_findings),)),
    EvalTask("lr-sweep", "Find the best learning rate for SFT of HuggingFaceTB/SmolLM2-135M-Instruct on "
             "HuggingFaceH4/no_robots: try 1e-5, 3e-5 and 1e-4, push each run, and tell me which is best.",
             Expect(datasets=("HuggingFaceH4/no_robots",), models=("HuggingFaceTB/SmolLM2-135M-Instruct",),
                    budget_usd=10.0)),
    EvalTask("oom-recovery", "This SFT job died with CUDA out of memory on a10g-small. Fix it and run it again:\n\n"
             f"```python\n{OOM_SCRIPT}```", Expect(datasets=("HuggingFaceH4/no_robots",),
                                                   models=("Qwen/Qwen2.5-0.5B-Instruct",), budget_usd=8.0),
             checks=(("fix keeps the scope (no LoRA, same max_length)", _relaunch_keeps_scope),)),
    EvalTask("resume-timeout", "My SFT job of SmolLM2-135M on HuggingFaceH4/no_robots (see hf_jobs ps) hit its "
             "30-minute timeout; it pushed checkpoints to fake-user/smollm-sft (last-checkpoint). Resume it and "
             "finish the training.", Expect(datasets=("HuggingFaceH4/no_robots",), budget_usd=5.0),
             checks=(("relaunch resumes from the checkpoint", _relaunch_resumes),), setup=timed_out_job),
    EvalTask("model-card", "Train a sentiment classifier from distilbert/distilbert-base-uncased on stanfordnlp/imdb "
             "and publish it as distilbert-imdb-card with a proper model card.",
             Expect(datasets=("stanfordnlp/imdb",), models=("distilbert/distilbert-base-uncased",), budget_usd=5.0),
             checks=(("a model card is written", _card),)),
    EvalTask("research-citations", "What beta and learning rate did the original DPO paper use, and how did DPO "
             "compare with PPO on summarization? Cite your sources.", Expect(budget_usd=1.0),
             checks=(("answer cites the paper", _answer_cites),
                     ("answer states beta 0.1", lambda t: re.search(r"(beta|β)\D{0,20}0\.1\b", t.answer) is not None))),
    EvalTask("missing-dataset", "SFT HuggingFaceTB/SmolLM2-135M-Instruct on HuggingFaceH4/no_robots_v2 and push it "
             "as smollm-v2.", Expect(datasets=("HuggingFaceH4/no_robots_v2",), budget_usd=5.0),
             checks=(("answer says the dataset does not exist", lambda t: "no_robots_v2" in t.answer),)),
)
