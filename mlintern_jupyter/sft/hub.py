"""Push an SFT build to a private Hub dataset with a card: how it was selected and how many sessions per tag.

Private only, as the trace uploader: a repo that turns out to be public is refused before anything is sent.
The token goes to `HfApi` (the Hub endpoint) and nowhere else.
"""

from __future__ import annotations

from typing import Any

from ..agent.tags import NAMESPACES
from .build import BuildResult
from .write import FEATURES_YAML


class PushRefused(Exception):
    pass


def dataset_card(result: BuildResult, data_path: str) -> str:
    features = f"dataset_info:\n{FEATURES_YAML}" if result.fmt == "jsonl" else ""
    lines = [
        "---", "pretty_name: ML Intern SFT data", "tags:", "- sft", "- tool-calling", "- agent-traces",
        "- ml-intern", "- mlintern-jupyter", "configs:", "- config_name: default", "  data_files:",
        "  - split: train", f"    path: {data_path}", features.rstrip("\n"), "---", "",
        "# ML Intern SFT data", "",
        "Supervised fine-tuning rows built by `mlintern sft build` from mlintern-jupyter sessions: a `messages` "
        "column in the OpenAI chat format (assistant `tool_calls`, `tool` results) and a `tools` column with the "
        "tool schemas, as TRL's `SFTTrainer` takes them. Each row is what the model saw at the end of a "
        + ("turn" if result.rows_per == "turn" else "session") + "; every row passed a secret redactor.", "",
        "## How it was built", "",
        f"- selection: {result.selection.describe()}",
        f"- rows: {result.rows} (one per {result.rows_per}), from {result.scan.kept} of {result.scan.read} sessions",
        f"- kernel digests: {'kept' if result.kernel_digests else 'dropped'}",
        "", "## Sessions per tag", "", "| tag | sessions |", "|---|---|",
    ]
    order = {name: i for i, name in enumerate(NAMESPACES)}
    for tag, count in sorted(result.tag_counts.items(),
                             key=lambda kv: (order.get(kv[0].split(":")[0], 99), -kv[1], kv[0])):
        lines.append(f"| `{tag}` | {count} |")
    return "\n".join(line for line in lines if line is not None) + "\n"


def push(result: BuildResult, repo_id: str, *, api: Any = None) -> str:
    from huggingface_hub import CommitOperationAdd, HfApi

    api = api or HfApi()
    data_path = f"data/train.{'parquet' if result.fmt == 'parquet' else 'jsonl'}"
    api.create_repo(repo_id, repo_type="dataset", private=True, exist_ok=True)
    info = api.repo_info(repo_id, repo_type="dataset")
    if not info.private:
        raise PushRefused(f"{repo_id} is a public dataset: SFT data goes only to private repos")
    operations = [CommitOperationAdd(data_path, str(result.path)),
                  CommitOperationAdd("README.md", dataset_card(result, data_path).encode())]
    api.create_commit(repo_id, operations, repo_type="dataset",
                      commit_message=f"SFT build: {result.rows} rows from {result.scan.kept} sessions")
    return f"hf://datasets/{repo_id}/{data_path}"
