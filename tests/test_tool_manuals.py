"""Each tool's description is its manual: the concepts an ML engineer needs at the moment of the call are in the
tool's own schema, not only in the system prompt (a model reads the schema when it picks the tool)."""

from __future__ import annotations

import json

import pytest

from mlintern_jupyter.tools import default_tools
from tests.concepts import missing_concepts

# tool -> concepts of tests/fixtures/concepts.json its schema alone must teach
MANUALS = {
    "hf_jobs": ["push_to_hub", "ephemeral_job_storage", "trackio", "timeout_by_model_size", "vram_bytes_per_param",
                "hardware_sizing", "plain_text_logs", "one_job_before_sweep", "oom_ladder", "smoke_test_first",
                "no_scope_changing_fixes", "inspect_dataset_first", "token_as_secret"],
    "hf_inspect_dataset": ["inspect_dataset_first", "trainer_dataset_formats", "kto_format", "data_audit"],
    "github_find_examples": ["working_examples", "outdated_api_knowledge"],
    "fetch_hf_docs": ["read_current_docs"],
    "hf_papers": ["research_literature"],
}


@pytest.mark.parametrize("tool", sorted(MANUALS))
def test_the_tool_schema_teaches_its_concepts(tool: str) -> None:
    schema = default_tools().get(tool).schema()  # type: ignore[union-attr]
    text = json.dumps(schema, ensure_ascii=False).replace("\\n", "\n").replace('\\"', '"')
    missing = [c for c in missing_concepts(text) if c in MANUALS[tool]]
    assert missing == [], f"{tool}'s description does not teach {missing}"


def test_every_argument_is_described() -> None:
    """An argument without a description is one the model has to guess."""
    bare = [f"{t.name}.{name}" for t in default_tools() for name, prop in t.parameters["properties"].items()
            if not prop.get("description")]
    assert bare == []
