"""The concept checklist (tests/fixtures/concepts.json) applied to what a model is sent."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

CONCEPTS: dict[str, Any] = json.loads((Path(__file__).parent / "fixtures" / "concepts.json").read_text())


def schema_strings(obj: Any) -> list[str]:
    """Every string the model reads in tool schemas: names, descriptions, enum values, property names."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for key, value in obj.items() for s in (str(key), *schema_strings(value))]
    if isinstance(obj, list):
        return [s for value in obj for s in schema_strings(value)]
    return []


def sent_text(system: str, tools: Any) -> str:
    return "\n".join([system, *schema_strings(tools)])


def missing_concepts(text: str, group: str = "ml") -> list[str]:
    return [c["id"] for c in CONCEPTS[group] if not re.search(c["pattern"], text)]
