"""Read-only Hub tools: hf_inspect_dataset and fetch_hf_docs (hf_papers: papers.py; explore_hf_docs: docs.py)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from .config import ToolsConfig
from .htmltext import cap, get, get_optional, html_to_text
from .registry import Tool, ToolContext, ToolError

SHOW_COLUMNS = 40
CELL_CHARS = 300


def format_fit(columns: dict[str, str]) -> list[str]:
    """Which TRL training formats the columns fit (names and types as the dataset viewer reports them)."""
    names = set(columns)
    fits = []
    if "messages" in names or "conversations" in names:
        fits.append("SFT (conversational: a `messages` list of {role, content})")
    elif "text" in names:
        fits.append("SFT (language modelling: a `text` column)")
    elif {"prompt", "completion"} <= names:
        fits.append("SFT (prompt-completion)")
    if {"chosen", "rejected"} <= names:
        fits.append("DPO (preference: " + ("prompt, " if "prompt" in names else "implicit prompt, ")
                    + "chosen, rejected)")
    if "prompt" in names:
        fits.append("GRPO (a `prompt` column; reward functions may read "
                    + (", ".join(sorted(names & {"answer", "solution", "ground_truth"})) or "other columns") + ")")
    if {"prompt", "completion", "label"} <= names:
        fits.append("KTO (prompt, completion, boolean label)")
    return fits or ["none of SFT / DPO / GRPO directly: map the columns first (e.g. build `messages` or `prompt`)"]


def _feature_type(feature: Any) -> str:
    if isinstance(feature, dict):
        kind = feature.get("_type", "")
        if kind == "Value":
            return str(feature.get("dtype"))
        if kind == "ClassLabel":
            return f"ClassLabel({', '.join(map(str, feature.get('names', [])[:10]))})"
        return kind or "struct"
    if isinstance(feature, list):
        return "list[" + (_feature_type(feature[0]) if feature else "") + "]"
    return str(feature)


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= CELL_CHARS else text[:CELL_CHARS] + " ..."


def make_hub_research_tools(tc: ToolsConfig) -> list[Tool]:
    hub = tc.hf_endpoint.rstrip("/")
    viewer = tc.datasets_server_url.rstrip("/")

    async def hf_inspect_dataset(dataset: str, ctx: ToolContext, config: str | None = None, split: str | None = None,
                                 sample_rows: int = 3) -> str:
        """Inspect a Hub dataset: configs, splits, column names and types, first rows, and the training formats it
        fits. Required before you train on a dataset or write code that loads it: never guess column names. Each
        trainer needs its columns: SFT `messages` (list of {role, content}) or `text` or `prompt`+`completion`;
        DPO/ORPO/reward `prompt`+`chosen`+`rejected`; GRPO `prompt`; KTO `prompt`+`completion`+bool `label`;
        classification a text column + ClassLabel `label`. If they do not fit, map them in the script and say so.
        Look for class imbalance, empty texts, duplicates and a missing validation split.

        Args:
            dataset: the dataset repo id, e.g. "stanfordnlp/imdb".
            config: the dataset config (default: the first one).
            split: the split (default: train, else the first).
            sample_rows: how many first rows to show (max 10).
        """
        valid = (await get(tc, f"{viewer}/is-valid", {"dataset": dataset}, service="the dataset viewer")).json()
        if not (valid.get("preview") or valid.get("viewer")):
            if await get_optional(tc, f"{hub}/api/datasets/{dataset}") is None:
                raise ToolError(f"dataset {dataset!r} was not found on the Hub (HTTP 404): check the name; a "
                                "private or gated dataset needs a token with access")
            return (f"{dataset}: the dataset viewer cannot read it (no preview). Look at its files with "
                    "hf_repo_files operation='list' repo_type='dataset'.")
        splits = (await get(tc, f"{viewer}/splits", {"dataset": dataset}, service="the dataset viewer")).json()
        pairs = [(s["config"], s["split"]) for s in splits.get("splits", [])]
        if not pairs:
            raise ToolError(f"{dataset} has no splits the viewer can read yet; retry later")
        configs = sorted({c for c, _ in pairs})
        cfg = config or configs[0]
        names = [s for c, s in pairs if c == cfg]
        if not names:
            raise ToolError(f"config {cfg!r} not found; configs: {', '.join(configs)}")
        chosen = split or ("train" if "train" in names else names[0])
        rows = (await get(tc, f"{viewer}/first-rows", {"dataset": dataset, "config": cfg, "split": chosen},
                          service="the dataset viewer")).json()
        features = {f["name"]: _feature_type(f["type"]) for f in rows.get("features", [])}
        ctx.services.dataset_columns[dataset] = list(features)  # for the pre-launch checks of a job
        out = [f"Dataset {dataset} (viewer: valid)", f"Configs: {', '.join(configs[:30])}",
               f"Splits of {cfg}: {', '.join(names)}; showing {chosen}",
               f"Features ({len(features)} columns):"]
        shown = list(features.items())[:SHOW_COLUMNS]
        out += [f"  {name}: {kind}" for name, kind in shown]
        if len(features) > SHOW_COLUMNS:
            kinds = Counter(features.values())
            out.append(f"  ... {len(features) - SHOW_COLUMNS} more columns; types over all columns: "
                       + ", ".join(f"{k} x{n}" for k, n in kinds.most_common(8)))
        out.append("Fits: " + "; ".join(format_fit(features)))
        for item in rows.get("rows", [])[: max(0, min(sample_rows, 10))]:
            row = item.get("row", {})
            cells = [f"{k}={_cell(v)}" for k, v in list(row.items())[:SHOW_COLUMNS // 2]]
            more = f" ... (+{len(row) - SHOW_COLUMNS // 2} columns)" if len(row) > SHOW_COLUMNS // 2 else ""
            out.append(f"Row {item.get('row_idx')}: " + "; ".join(cells) + more)
        return cap("\n".join(out), hint="ask for fewer sample_rows")

    async def fetch_hf_docs(url: str) -> str:
        """Read one documentation page as text: "library/page" such as "trl/sft_trainer", or a full URL (found with
        explore_hf_docs). Confirm every config argument and import your script uses here: names change between
        versions. Pages outside the Hugging Face docs are fetched without credentials and may need approval.

        Args:
            url: the page URL or "library/page".
        """
        if not url.startswith(("http://", "https://")):
            if ".." in url.split("/"):
                raise ToolError("give a docs page as 'library/page' (no '..'), or a full URL")
            url = f"{hub}/docs/{url.strip('/')}"
        # Documentation hosts get the HF token (gated docs); any other page is fetched without credentials, and
        # the approval policy asks before fetching it in `ask` mode (its address can carry data out).
        docs = tc.is_docs_url(url)
        page = await get(tc, url, service="the docs site" if docs else "that page", credentials=docs)
        return cap(html_to_text(page.text), hint="the page is long")

    return [Tool.from_function(f, read_only=True) for f in (hf_inspect_dataset, fetch_hf_docs)]
