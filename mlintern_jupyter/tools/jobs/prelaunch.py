"""Pre-launch checks of an hf_jobs launch: facts shown on the approval card and returned with the result.

A check never blocks: each is one line saying what looks wrong and what to do. They read the script (it must
parse; a training script must push its result and get hours, not the 30-minute default), the dataset columns
hf_inspect_dataset found in this session (do they fit the trainer the script uses?) and the model's parameter
count from the Hub (does it fit the flavour's GPU memory?). The regexes are shared with the trajectory graders.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from ...agent.approval import parse_duration_s
from ..config import ToolsConfig
from ..registry import ToolContext, ToolError
from . import hf

TRAINING_MIN_TIMEOUT_S = 2 * 3600
# A run this short (max_steps) is a smoke test: a short timeout and no push are right for it.
SMOKE_MAX_STEPS = 100
TRAINS = re.compile(r"\b(\w*Trainer)\s*\(|\.train\s*\(|\bmodel\.fit\s*\(")
LOADS_MODEL = re.compile(r"\.from_pretrained\s*\(|\bpipeline\s*\(")
PUSHES = re.compile(r"push_to_hub\s*=\s*True|\.push_to_hub\s*\(|\bupload_(folder|file|large_folder)\s*\(|"
                    r"\bcreate_commit\s*\(|--push_to_hub\b")
LOAD_DATASET = re.compile(r"load_dataset\(\s*[\"']([\w.-]+/[\w.-]+|[\w.-]+)[\"']")
MODEL_ID = re.compile(r"from_pretrained\(\s*[\"']([\w.-]+/[\w.-]+)[\"']|\bmodel(?:_name_or_path|_id)?\s*=\s*"
                      r"[\"']([\w.-]+/[\w.-]+)[\"']")
MAX_STEPS = re.compile(r"max_steps\W{1,4}(\d+)")
MAPS_COLUMNS = re.compile(r"\.(map|rename_column|rename_columns|select_columns|remove_columns)\s*\(|"
                          r"formatting_func|dataset_text_field")
# The columns each TRL trainer reads (any one set fits).
TRAINER_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "SFTTrainer": (("messages",), ("text",), ("prompt", "completion")),
    "DPOTrainer": (("prompt", "chosen", "rejected"), ("chosen", "rejected")),
    "ORPOTrainer": (("prompt", "chosen", "rejected"), ("chosen", "rejected")),
    "CPOTrainer": (("prompt", "chosen", "rejected"), ("chosen", "rejected")),
    "RewardTrainer": (("chosen", "rejected"),),
    "GRPOTrainer": (("prompt",),),
    "RLOOTrainer": (("prompt",),),
    "KTOTrainer": (("prompt", "completion", "label"),),
}
# Total GPU memory per job flavour in GB (huggingface.co/pricing); CPU flavours have none.
GPU_MEMORY_GB: dict[str, int] = {
    "t4-small": 16, "t4-medium": 16, "l4x1": 24, "l4x4": 96, "l40sx1": 48, "l40sx4": 192, "l40sx8": 384,
    "a10g-small": 24, "a10g-large": 24, "a10g-largex2": 48, "a10g-largex4": 96, "a100-large": 80, "a100x4": 320,
    "a100x8": 640, "h100": 80, "h100x8": 640, "h200": 141, "h200x2": 282, "h200x4": 564, "h200x8": 1128,
    "rtx-pro-6000x8": 768,
}  # fmt: skip
MAX_MODELS = 3


def smoke_test(script: str, script_args: list[str]) -> bool:
    steps = [int(s) for s in MAX_STEPS.findall(script + " " + " ".join(script_args))]
    return bool(steps) and 0 < min(steps) <= SMOKE_MAX_STEPS


def script_checks(script: str, *, timeout_s: int | None, remote: bool, script_args: list[str]) -> list[str]:
    """What the script alone shows: it parses; a training job pushes its result and gets hours."""
    try:
        ast.parse(script)
    except SyntaxError as exc:
        return [f"the script does not parse (line {exc.lineno}: {exc.msg}): it would fail at once; fix it first"]
    trains, smoke = bool(TRAINS.search(script)), smoke_test(script, script_args)
    out = []
    if remote and not smoke and not PUSHES.search(script):
        if trains:
            out.append("the script trains but never pushes: the trained model is lost when the job ends (job "
                       "storage is ephemeral); set push_to_hub=True and hub_model_id='<user>/<name>'")
        elif LOADS_MODEL.search(script):
            out.append("the script loads a model but saves nothing to the Hub: its outputs are lost when the job "
                       "ends; upload the results (upload_file / push_to_hub) if they matter")
    if trains and not smoke and timeout_s is not None and timeout_s < TRAINING_MIN_TIMEOUT_S:
        out.append(f"a training job with a timeout of {timeout_s // 60} min: it is killed then; training takes "
                   "hours (under 1B: 2-3 h, 1-3B: 3-4 h, 7-13B: 6-8 h)")
    return out


def column_checks(script: str, columns: dict[str, list[str]]) -> list[str]:
    """The datasets the script loads against the columns hf_inspect_dataset found, for the trainer it uses."""
    trainers = [t for t in dict.fromkeys(m.group(1) for m in TRAINS.finditer(script) if m.group(1))
                if t in TRAINER_COLUMNS]
    out = []
    for dataset in dict.fromkeys(LOAD_DATASET.findall(script)):
        if dataset not in columns:
            if trainers:
                out.append(f"dataset {dataset} was not inspected in this session: its columns are unchecked "
                           f"against {trainers[0]} (hf_inspect_dataset dataset='{dataset}')")
            continue
        if MAPS_COLUMNS.search(script):
            continue  # the script reshapes its data; the raw columns need not fit
        have = set(columns[dataset])
        for trainer in trainers:
            wanted = TRAINER_COLUMNS[trainer]
            if not any(set(need) <= have for need in wanted):
                need = " or ".join("+".join(n) for n in wanted)
                out.append(f"dataset {dataset} has columns {', '.join(sorted(have))}; {trainer} needs {need}: "
                           "map them in the script first")
    return out


def bytes_per_param(script: str, trains: bool) -> tuple[float, str]:
    if re.search(r"load_in_4bit\s*=\s*True|BitsAndBytesConfig", script):
        return 0.6, "QLoRA (4-bit)"
    if not trains:
        return 2.0, "inference in bf16"
    if re.search(r"LoraConfig|peft_config|get_peft_model", script):
        return 2.0, "LoRA on a bf16 base"
    return 16.0, "full fine-tuning with AdamW"


async def model_parameters(config: ToolsConfig, repo_id: str) -> int | None:
    """The model's parameter count from the Hub: its safetensors metadata, else its weight files' size at 2 bytes
    a parameter. ToolError when the model does not exist."""
    api = hf.make_api(config.hf_endpoint, config.resolved_hf_token())
    info = await hf.call(api.model_info, repo_id, what=f"the Hub (model {repo_id})")
    total = getattr(getattr(info, "safetensors", None), "total", None)
    if total:
        return int(total)
    entries = await hf.call(lambda: list(api.list_repo_tree(repo_id, recursive=True)), what="the Hub (model files)")
    sizes = [int(getattr(e, "size", 0) or 0) for e in entries if str(e.path).endswith((".safetensors", ".bin"))]
    return sum(sizes) // 2 if sum(sizes) > 0 else None


async def model_checks(config: ToolsConfig, ctx: ToolContext, script: str, flavor: str) -> list[str]:
    models = list(dict.fromkeys(a or b for a, b in MODEL_ID.findall(script)))[:MAX_MODELS]
    trains = bool(TRAINS.search(script))
    out = []
    cache: dict[str, Any] = ctx.services.model_parameters
    for repo_id in models:
        if repo_id not in cache:
            try:
                cache[repo_id] = await model_parameters(config, repo_id)
            except ToolError as exc:
                cache[repo_id] = exc
        found = cache[repo_id]
        if isinstance(found, ToolError):
            out.append(f"model {repo_id}: {found}")
            continue
        if not found:
            continue
        per_param, method = bytes_per_param(script, trains)
        need_gb = found * per_param * 1.25 / 1e9
        memory = GPU_MEMORY_GB.get(flavor)
        if memory is None and trains and flavor.startswith("cpu"):
            out.append(f"{repo_id} ({found / 1e9:.2f}B parameters) would train on {flavor}, which has no GPU")
        elif memory is not None and need_gb > memory:
            out.append(f"{repo_id} has about {found / 1e9:.2f}B parameters: {method} needs about {need_gb:.0f} GB "
                       f"of GPU memory ({per_param:g} bytes/param + 25%); {flavor} has {memory} GB. Pick a bigger "
                       "flavour (see operation='hardware')")
    return out


async def prelaunch_checks(config: ToolsConfig, arguments: dict[str, Any], ctx: ToolContext) -> list[str]:
    """The checks of one hf_jobs call; [] for anything but a Python-mode launch."""
    operation = str(arguments.get("operation") or "").strip().lower()
    script = arguments.get("script")
    if operation.removeprefix("scheduled ") not in ("run", "uv") or not isinstance(script, str) or \
            not script.strip() or arguments.get("command"):
        return []
    if script.strip().startswith(("https://", "http://")):
        return ["the script is a URL: it was not checked before launch"]
    text = script  # the source itself: the loop resolved a workspace path or a URL before the checks
    remote = arguments.get("runtime") != "local"
    out = script_checks(text, timeout_s=parse_duration_s(arguments.get("timeout")), remote=remote,
                        script_args=[str(a) for a in arguments.get("script_args") or []])
    if out and out[0].startswith("the script does not parse"):
        return out
    out += column_checks(text, ctx.services.dataset_columns)
    if remote:
        out += await model_checks(config, ctx, text, str(arguments.get("hardware_flavor") or ""))
    return out
