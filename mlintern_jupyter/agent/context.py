"""Context accounting and compaction (the guards work fills in compaction)."""

from __future__ import annotations

OUTPUT_CAP_CHARS = 24_000


def cap_output(text: str, limit: int = OUTPUT_CAP_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - limit} characters cut] ...\n{text[-half:]}"
