"""Session tags stored with the trace: a sidecar beside `trace.jsonl`, and in the uploaded dataset.

In the traces dataset each session's tags sit beside its trace (`sessions/<date>/<id>.tags.json`, which the
card's `sessions/*/*.jsonl` data files pattern leaves out), `tags.json` at the root maps every uploaded session to
its tags, and the card lists how many sessions carry each tag in a section between two markers, rewritten on
every upload; the rest of the card stays as the person left it (a card without the markers is not touched).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from .tags import NAMESPACES

INDEX_PATH = "tags.json"
START = "<!-- mlintern:tags -->"
END = "<!-- /mlintern:tags -->"


def tags_sidecar(trace_path: Path) -> Path:
    """`trace.jsonl` -> `trace.tags.json`."""
    return trace_path.with_name(trace_path.stem + ".tags.json")


def tags_document(session_id: str, tags: list[str]) -> bytes:
    return (json.dumps({"session_id": session_id, "tags": tags}, indent=1) + "\n").encode()


def tags_section(index: dict[str, list[str]]) -> str:
    counts = Counter(tag for tags in index.values() for tag in tags)
    order = {name: i for i, name in enumerate(NAMESPACES)}
    rows = [f"| `{tag}` | {n} |" for tag, n in sorted(counts.items(), key=lambda kv: (
        order.get(kv[0].split(":")[0], 99), -kv[1], kv[0]))]
    return "\n".join([START, "## Session tags", "",
                      f"{len(index)} session(s). Each session's tags are in `sessions/<date>/<id>.tags.json`, and "
                      "all of them in `tags.json`: how each turn ended (`outcome:`), the task (`task:`), model "
                      "family, tools, jobs and GPUs, sandboxes, approvals (`feedback:`), turns and cost.", "",
                      "| tag | sessions |", "|---|---|", *rows, END])


def card_with_tags(card: str, index: dict[str, list[str]]) -> str | None:
    """The card with its tags section rewritten; None when the card has no markers (a person rewrote it)."""
    start, end = card.find(START), card.find(END)
    if start < 0 or end < start:
        return None
    return card[:start] + tags_section(index) + card[end + len(END):]


def _download_text(api: Any, repo_id: str, path: str) -> str:
    """A small file of the dataset, fetched fresh (not through the shared cache, which could be stale)."""
    with tempfile.TemporaryDirectory(prefix="mlintern-card-") as folder:
        local = api.hf_hub_download(repo_id, path, repo_type="dataset", local_dir=folder)
        return Path(local).read_text(encoding="utf-8")


def read_index(api: Any, repo_id: str, files: set[str]) -> dict[str, list[str]]:
    if INDEX_PATH not in files:
        return {}
    try:
        data = json.loads(_download_text(api, repo_id, INDEX_PATH))
    except (OSError, ValueError):
        return {}  # unreadable: rebuilt from this upload on; the sidecars keep every session's own tags
    return {str(k): [str(t) for t in v] for k, v in data.items() if isinstance(v, list)} if isinstance(data, dict) else {}


def read_card(api: Any, repo_id: str) -> str:
    return _download_text(api, repo_id, "README.md")
