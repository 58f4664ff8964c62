"""What a trace upload writes to the Hub: one commit to the dataset repo, which must be private unless chosen.

The commit holds the session's redacted trace, its tags beside it, the index of every session's tags, and the
dataset card (written whole the first time, afterwards only its tags section, since a person may edit the rest).
The uploader (upload.py) decides when to upload and retries; this module only talks to the Hub's `HfApi`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .trace_tags import INDEX_PATH, card_with_tags, read_card, read_index, tags_section, tags_sidecar

DATASET_CARD = """---
pretty_name: ML Intern sessions
tags:
- agent-trace
- agent-traces
- ml-intern
- mlintern-jupyter
- claude-code-jsonl
configs:
- config_name: default
  data_files:
  - split: train
    path: sessions/*/*.jsonl
---

# ML Intern sessions

Traces of mlintern-jupyter agent sessions (an ML engineering agent that runs inside Jupyter), one Claude Code
JSONL file per session under `sessions/YYYY-MM-DD/<session_id>.jsonl`: records of type `user` / `assistant` with
`text`, `tool_use` and `tool_result` blocks, each assistant record with the token usage of its own model call.
The Hugging Face Agent Trace Viewer and Claude Code transcript tools read them. Every file passed a secret
redactor before upload. Uploaded by `%intern upload` or at the end of each turn.
"""


class TraceUploadError(Exception):
    """An upload that did not happen; the message is safe to show (redacted, no token)."""


class TraceUploadRefused(TraceUploadError):
    """A permanent refusal (a public repo in private mode, no token): retrying would not help."""


def commit_trace(api: Any, repo_id: str, trace_path: Path, path_in_repo: str, session_id: str, *,
                 public: bool) -> None:
    """Create the dataset repo if needed and commit the trace there. Refuses (TraceUploadRefused) a repo that
    turns out to be public unless `public` (the person chose ``%intern traces public``)."""
    from huggingface_hub import CommitOperationAdd

    api.create_repo(repo_id, repo_type="dataset", private=not public, exist_ok=True)
    info = api.repo_info(repo_id, repo_type="dataset")
    if not info.private and not public:
        raise TraceUploadRefused(
            f"{repo_id} is a public dataset: traces go only to private repos unless you choose "
            "%intern traces public")
    operations = [CommitOperationAdd(path_in_repo, str(trace_path))]
    files = {s.rfilename for s in (info.siblings or [])}
    operations += _tags_operations(api, repo_id, files, trace_path, path_in_repo, session_id)
    api.create_commit(repo_id, operations, repo_type="dataset", commit_message=f"Upload session {session_id}")


def _tags_operations(api: Any, repo_id: str, files: set[str], trace_path: Path, path_in_repo: str,
                     session_id: str) -> list[Any]:
    """The session's tags beside its trace, the index of every session's tags, and the card: written whole
    the first time, afterwards only its tags section (a person may edit the rest)."""
    from huggingface_hub import CommitOperationAdd

    sidecar = tags_sidecar(trace_path)
    tags = json.loads(sidecar.read_text())["tags"]
    index = read_index(api, repo_id, files)
    index[session_id] = tags
    operations = [CommitOperationAdd(path_in_repo.removesuffix(".jsonl") + ".tags.json", str(sidecar)),
                  CommitOperationAdd(INDEX_PATH, (json.dumps(index, indent=1, sort_keys=True) + "\n").encode())]
    old = read_card(api, repo_id) if "README.md" in files else None
    card = DATASET_CARD + "\n" + tags_section(index) + "\n" if old is None else card_with_tags(old, index)
    if card is not None and card != old:
        operations.append(CommitOperationAdd("README.md", card.encode()))
    return operations
