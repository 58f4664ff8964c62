"""The redaction corpus (tests/fixtures/redaction/corpus.py): its size, and floors on recall and on what is
changed that should not be. The exact figures, side by side with the previous redactor, are in BENCHMARKS.md
(tests/bench_redact.py); the floors here are the issue's goals, so a regression below them fails the suite."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from mlintern_jupyter.agent.redact import Redactor
from tests.bench_redact import leaked

FIXTURES = Path(__file__).parent / "fixtures" / "redaction"
sys.path.insert(0, str(FIXTURES))
from corpus import build_corpus  # noqa: E402
from formats import FORMATS  # noqa: E402

# Formats that are, by shape, indistinguishable from identifiers when alone (UUIDs and hex digests of the
# standard lengths, which jobs, runs, commits and files carry everywhere): caught only under a key.
IDENTIFIER_SHAPED = {
    "assemblyai-key", "azure-openai-key", "datadog-api-key", "deepgram-key", "facebook-app-secret", "generic-client-secret",
    "heroku-key-legacy", "kaggle-key", "linode-token", "postmark-token", "snyk-token", "sparkpost-key", "together-legacy-key",
    "twilio-auth-token", "wandb-key", "asana-pat", "generic-password", "mailgun-signing-key",
}


@pytest.fixture(scope="module")
def results() -> dict:  # type: ignore[type-arg]
    corpus = build_corpus()
    redactor = Redactor()
    caught: dict[str, dict[str, bool]] = defaultdict(dict)
    for sample in corpus["positives"]:
        out = redactor.redact(sample["text"])
        caught[sample["format"]][sample["context"]] = not leaked(sample["secret"], sample["text"], out)
    changed = [n for n in corpus["negatives"] if redactor.redact(n["text"]) != n["text"]]
    return {"corpus": corpus, "caught": caught, "changed": changed}


def test_corpus_is_big_and_varied(results: dict) -> None:  # type: ignore[type-arg]
    positives = results["corpus"]["positives"]
    assert len(positives) >= 2000
    assert len({p["format"] for p in positives}) >= 150
    assert len({p["context"] for p in positives} - {"alone"}) >= 10
    assert len(results["corpus"]["negatives"]) >= 1000
    assert all(f["src"] for f in FORMATS)  # every format says where its shape is documented


def test_recall_in_context_and_alone(results: dict) -> None:  # type: ignore[type-arg]
    in_context = [ok for by_ctx in results["caught"].values() for ctx, ok in by_ctx.items() if ctx != "alone"]
    alone = [by_ctx["alone"] for by_ctx in results["caught"].values()]
    assert sum(in_context) / len(in_context) >= 0.95
    assert sum(alone) / len(alone) >= 0.80


def test_every_format_is_caught_in_most_contexts(results: dict) -> None:  # type: ignore[type-arg]
    weak = {f: round(sum(c.values()) / len(c), 2) for f, c in results["caught"].items() if sum(c.values()) < 0.75 * len(c)}
    assert not weak


def test_formats_with_a_shape_are_caught_alone(results: dict) -> None:  # type: ignore[type-arg]
    missed = sorted(f for f, c in results["caught"].items() if not c["alone"] and f not in IDENTIFIER_SHAPED)
    assert not missed


def test_placeholders_references_and_lookalikes_are_left(results: dict) -> None:  # type: ignore[type-arg]
    changed = results["changed"]
    assert len(changed) <= len(results["corpus"]["negatives"]) // 100, [c["text"][:80] for c in changed]
    # ML text that merely looks random (ids, digests, base64 media, tokenizer output) is never changed.
    assert not [c for c in changed if c["format"] == "ml-text"], changed


def test_benign_ml_text_is_left_alone() -> None:
    benign = json.loads((FIXTURES / "benign.json").read_text())
    redactor = Redactor()
    changed = [text[:100] for text in benign if redactor.redact(text) != text]
    assert not changed
