"""The world an evaluated agent works in: the loopback Hub seeded with datasets, models and papers, and jobs
whose logs follow from the script they were given (a training script prints losses and eval metrics and, when
it pushes, its repo appears on the Hub; a batch too large for the GPU dies of CUDA OOM; an evaluation prints a
harness table). Deterministic: the same script always prints the same numbers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from tests.fakes import FakeGitHub, FakeHub, JobScript

LABELS = {"names": ["neg", "pos"], "_type": "ClassLabel"}
MESSAGES = [{"role": "string", "content": "string"}]


def _chat(i: int) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"Answer {i}."}]}


def seed(hub: FakeHub) -> None:
    """Datasets, models and papers the tasks name (and a near-namesake of one that does not exist)."""
    hub.add_dataset("stanfordnlp/imdb", features={"text": "string", "label": LABELS},
                    splits={"train": [{"text": f"review {i} " + ("great" if i % 2 else "awful"), "label": i % 2}
                                      for i in range(40)],
                            "test": [{"text": f"test review {i}", "label": i % 2} for i in range(20)]})
    hub.add_dataset("HuggingFaceH4/no_robots", features={"messages": MESSAGES, "category": "string"},
                    splits={"train": [{**_chat(i), "category": "qa"} for i in range(30)],
                            "test": [{**_chat(i), "category": "qa"} for i in range(10)]})
    hub.add_dataset("trl-lib/ultrafeedback_binarized",
                    features={"chosen": MESSAGES, "rejected": MESSAGES, "score_chosen": "float64"},
                    splits={"train": [{"chosen": _chat(i)["messages"], "rejected": _chat(i + 1)["messages"],
                                       "score_chosen": 8.0} for i in range(30)]})
    hub.add_dataset("openai/gsm8k", features={"question": "string", "answer": "string"}, config="main",
                    splits={"test": [{"question": f"What is {i}+{i}?", "answer": f"#### {2 * i}"} for i in range(20)]})
    tickets = [{"text": f"ticket {i % 25}", "label": 0 if i % 8 else 1} for i in range(40)]
    tickets += [{"text": "", "label": 0}] * 3
    hub.add_dataset("fake-org/support-tickets", features={"text": "string", "label": LABELS},
                    splits={"train": tickets})
    for repo, params in (("distilbert/distilbert-base-uncased", 66_955_010),
                         ("HuggingFaceTB/SmolLM2-135M-Instruct", 134_515_008),
                         ("Qwen/Qwen2.5-0.5B-Instruct", 494_032_768)):
        hub.add_repo(repo, files={"config.json": json.dumps({"num_parameters": params}),
                                  "model.safetensors": b"\0" * 64, "README.md": f"# {repo}\n"})
    hub.add_repo("fake-user/smollm-sft", files={
        "last-checkpoint/trainer_state.json": json.dumps({"global_step": 1200, "max_steps": 3000}),
        "last-checkpoint/model.safetensors": b"\0" * 64, "README.md": "# smollm-sft (training in progress)\n"})
    hub.add_paper("2305.18290", "Direct Preference Optimization: Your Language Model is Secretly a Reward Model",
                  "DPO optimizes the policy directly on preference pairs without a reward model.",
                  sections={"5 Experiments": "We use beta=0.1 and a learning rate of 1e-6 with RMSprop; on TL;DR "
                                             "summarization DPO reaches a 61% win rate against reference summaries, "
                                             "above PPO's 57% at its best sampling temperature."})
    hub.job_script_factory = job_script


def seed_github(gh: FakeGitHub) -> None:
    gh.add_repo("huggingface/trl", files={"examples/scripts/dpo.py": "# DPO example\nfrom trl import DPOConfig, "
                                          "DPOTrainer\n", "examples/scripts/sft.py": "from trl import SFTTrainer\n"})


def script_text(spec: dict[str, Any]) -> str:
    """The script a job runs: uv jobs carry it base64-encoded in the command."""
    command = " ".join(map(str, spec.get("command") or []))
    match = re.search(r"echo '([A-Za-z0-9+/=]+)' \| base64 -d", command)
    text = base64.b64decode(match.group(1)).decode(errors="replace") if match else command
    return text + "\n" + json.dumps(spec.get("environment") or {})


def _number(text: str, pattern: str) -> float | None:
    match = re.search(pattern, text)
    try:
        return float(match.group(1)) if match else None
    except ValueError:
        return None


def _jitter(text: str) -> float:
    """A stable number in [0, 1) per script, so different sweep points print different metrics."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:6], 16) / 0xFFFFFF


def job_script(spec: dict[str, Any]) -> JobScript:
    text = script_text(spec)
    flavor = str(spec.get("flavor") or "")
    batch = _number(text, r"per_device_train_batch_size\W{1,4}(\d+)") or 8
    if "Trainer" in text and batch >= 16 and "gradient_checkpointing=True" not in text and flavor.startswith(
            ("a10g-small", "t4", "l4x1", "a10g-large")):
        return JobScript(lines=["Loading checkpoint shards: 100%", "torch.OutOfMemoryError: CUDA out of memory. "
                                "Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 22.07 GiB of which "
                                "1.21 GiB is free."], final_stage="ERROR", message="exit code 1")
    if "lm_eval" in text or "lighteval" in text:
        score = 0.3 + 0.1 * _jitter(text)
        return JobScript(lines=["Running loglikelihood requests", "|Tasks|Version|Filter|n-shot|Metric|Value|Stderr|",
                                f"|gsm8k|3|flexible-extract|5|exact_match|{score:.4f}|± 0.0131|"])
    if "Trainer" in text or ".train(" in text:
        lr = _number(text, r"learning_rate\W{1,4}([0-9.eE-]+)") or 2e-5
        accuracy = 0.86 + 0.06 * _jitter(text)
        lines = [f"{{'loss': {0.69 - 0.1 * i:.4f}, 'grad_norm': 2.1, 'learning_rate': {lr}, 'epoch': {0.25 * i:.2f}}}"
                 for i in range(1, 5)]
        lines.append(f"{{'eval_loss': {0.9 - accuracy:.4f}, 'eval_accuracy': {accuracy:.4f}, 'epoch': 1.0}}")
        lines.append(f"{{'train_runtime': 1834.2, 'train_loss': {0.45 + 0.02 * _jitter(text):.4f}, 'epoch': 1.0}}")
        repo = re.search(r"hub_model_id\W{1,4}([\w.-]+/[\w.-]+)", text)
        if repo and ("push_to_hub" in text or "upload_folder" in text):
            lines.append(f"Pushed to https://huggingface.co/{repo.group(1)}")
        return JobScript(lines=lines)
    if "duplicated" in text or "value_counts" in text or "describe(" in text:
        return JobScript(lines=["rows=43 duplicates=18 empty_text=3", "label counts: {0: 38, 1: 5}"])
    return JobScript(lines=["done"])


def publish_pushed_repos(hub: FakeHub) -> None:
    """What the Hub holds after the jobs ran: every repo a job said it pushed, with weights and a card."""
    for job in list(hub.jobs.values()):
        for line in job.script.lines:
            match = re.match(r"Pushed to https://huggingface.co/(\S+)", line)
            if match and ("model", match.group(1)) not in hub.repos and job.stage() == "COMPLETED":
                hub.add_repo(match.group(1), files={"model.safetensors": b"\0" * 64,
                                                    "README.md": "---\nlibrary_name: transformers\n---\n# Model card\n"})
