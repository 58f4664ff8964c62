"""BM25 full-text indexes (tantivy: the Rust search engine's Python bindings) for docs pages and API endpoints.

An index is built once and either kept in memory or written to a directory; `open_index` reopens a directory in
milliseconds, so a docs query after the first needs no network and no rebuild. English stemming on text fields
("uploading" finds "upload"); the query is reduced to its words, so no query syntax can fail or reach fields.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRITER_HEAP = 32_000_000


@dataclass
class Hit:
    score: float
    fields: dict[str, str]
    snippet: str


def _schema(text_fields: tuple[str, ...], stored_only: tuple[str, ...]) -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    for name in text_fields:
        builder.add_text_field(name, stored=True, tokenizer_name="en_stem")
    for name in stored_only:
        builder.add_text_field(name, stored=True, tokenizer_name="raw", index_option="basic")
    return builder.build()


def build_index(docs: list[dict[str, str]], text_fields: tuple[str, ...], stored_only: tuple[str, ...] = (),
                path: Path | None = None) -> Any:
    """Index `docs` (dicts of field -> text). With `path`, the index is built beside it and moved into place whole,
    so a reader never sees half an index and two builders never share a directory."""
    import tantivy

    schema = _schema(text_fields, stored_only)
    target = None
    if path is not None:
        target, path = path, path.with_name(f"{path.name}.building-{id(docs):x}")
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    index = tantivy.Index(schema, path=str(path)) if path is not None else tantivy.Index(schema)
    writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
    for doc in docs:
        writer.add_document(tantivy.Document(**{k: str(doc.get(k) or "") for k in (*text_fields, *stored_only)}))
    writer.commit()
    writer.wait_merging_threads()
    if target is not None and path is not None:
        old = target.with_name(f"{target.name}.old-{id(docs):x}")
        if target.exists():
            target.rename(old)
        path.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        index = tantivy.Index.open(str(target))
    index.reload()
    return index


def open_index(path: Path) -> Any | None:
    import tantivy

    try:
        index = tantivy.Index.open(str(path))
        index.reload()
        return index
    except Exception:  # noqa: BLE001 - a missing or damaged index is rebuilt, not an error
        return None


def query_words(query: str) -> str:
    """The words of a query, lower-cased: boolean operators and field syntax cannot sneak in."""
    return " ".join(w.lower() for w in re.findall(r"\w+", query))


def search(index: Any, query: str, fields: tuple[str, ...], boosts: dict[str, float], limit: int,
           snippet_field: str | None = None) -> list[Hit]:
    import tantivy

    words = query_words(query)
    if not words:
        return []
    parsed, _errors = index.parse_query_lenient(words, list(fields), field_boosts=boosts)
    searcher = index.searcher()
    result = searcher.search(parsed, limit)
    generator = (tantivy.SnippetGenerator.create(searcher, parsed, index.schema, snippet_field)
                 if snippet_field else None)
    hits = []
    for score, address in result.hits:
        doc = searcher.doc(address)
        values = {k: (v[0] if isinstance(v, list) and v else "") for k, v in doc.to_dict().items()}
        snippet = generator.snippet_from_doc(doc).fragment() if generator is not None else ""
        hits.append(Hit(score, values, " ".join(snippet.split())))
    return hits
