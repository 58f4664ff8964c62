"""Streaming writers for SFT rows: JSONL or Parquet, written to a temporary file and renamed at the end.

Rows arrive one at a time and leave in small batches, so memory does not grow with the number of sessions. In
Parquet, `messages` and `tools` are lists of Arrow's JSON extension type, which `datasets` (>= 4.7) reads as
`List(Json())`: each message keeps exactly its own keys (no null-filled union of every key, which chat templates
would render), as TRL's dataset-format guide asks for tool-calling data.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

BATCH_ROWS = 128
# `datasets` features of a row, for a JSONL file's dataset card (Parquet carries its own types).
FEATURES_YAML = """  features:
  - name: session_id
    dtype: string
  - name: session_name
    dtype: string
  - name: turn
    dtype: int64
  - name: model
    dtype: string
  - name: timestamp
    dtype: string
  - name: turn_outcome
    dtype: string
  - name: tags
    list: string
  - name: messages
    list: json
  - name: tools
    list: json
"""


def _each_json(items: list[Any]) -> list[str]:
    return [json.dumps(item, ensure_ascii=False) for item in items]


class RowWriter(Protocol):
    def write(self, row: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class _SameList:
    """The JSON of a list that repeats row after row (a session's `tools`), encoded once while it repeats."""

    def __init__(self) -> None:
        self.value: Any = None
        self.encoded: Any = None

    def get(self, value: list[Any], encode: Any) -> Any:
        if value is not self.value:
            self.value, self.encoded = value, encode(value)
        return self.encoded


class JsonlWriter:
    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.tools = _SameList()

    def write(self, row: dict[str, Any]) -> None:
        head = json.dumps({k: v for k, v in row.items() if k != "tools"}, ensure_ascii=False)
        tools = self.tools.get(row["tools"], lambda v: json.dumps(v, ensure_ascii=False))
        self.handle.write(f'{head[:-1]}, "tools": {tools}}}\n')  # the row's JSON, tools last

    def close(self) -> None:
        self.handle.flush()


class ParquetWriter:
    def __init__(self, path: str) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise RuntimeError("Parquet output needs pyarrow: pip install 'mlintern-jupyter[sft]' "
                               "(or write .jsonl)") from None
        self.pa = pa
        json_list = pa.list_(pa.json_())
        self.schema = pa.schema([("session_id", pa.string()), ("session_name", pa.string()), ("turn", pa.int64()),
                                 ("model", pa.string()), ("timestamp", pa.string()),
                                 ("turn_outcome", pa.string()), ("tags", pa.list_(pa.string())),
                                 ("messages", json_list), ("tools", json_list)])
        self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        self.batch: list[dict[str, Any]] = []
        self.tools = _SameList()

    def write(self, row: dict[str, Any]) -> None:
        self.batch.append(row)
        if len(self.batch) >= BATCH_ROWS:
            self._flush()

    def _json_list(self, lists: Iterable[list[str]]) -> Any:
        pa = self.pa
        offsets, flat = [0], []
        for items in lists:
            flat += items
            offsets.append(len(flat))
        values = pa.ExtensionArray.from_storage(pa.json_(), pa.array(flat, pa.string()))
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)

    def _flush(self) -> None:
        if not self.batch:
            return
        pa, rows = self.pa, self.batch
        columns = {name: pa.array([r[name] for r in rows], self.schema.field(name).type)
                   for name in ("session_id", "session_name", "turn", "model", "timestamp", "turn_outcome", "tags")}
        columns["messages"] = self._json_list([json.dumps(m, ensure_ascii=False) for m in r["messages"]] for r in rows)
        columns["tools"] = self._json_list(self.tools.get(r["tools"], _each_json) for r in rows)
        self.writer.write_table(pa.table(columns, schema=self.schema))
        self.batch = []

    def close(self) -> None:
        self._flush()
        self.writer.close()


class AtomicRows:
    """Open a writer on a temporary file beside `path`; `commit()` renames it into place, `abort()` removes it."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        fd, self.tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        self.handle: Any = None
        if fmt == "parquet":
            os.close(fd)
            self.writer: RowWriter = ParquetWriter(self.tmp)
        else:
            self.handle = os.fdopen(fd, "w", encoding="utf-8")
            self.writer = JsonlWriter(self.handle)
        self.rows = 0

    def write(self, row: dict[str, Any]) -> None:
        self.writer.write(row)
        self.rows += 1

    def commit(self) -> Path:
        self.writer.close()
        if self.handle is not None:
            os.fsync(self.handle.fileno())
            self.handle.close()
        os.chmod(self.tmp, 0o644)
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            if self.handle is not None:
                self.handle.close()
        finally:
            Path(self.tmp).unlink(missing_ok=True)
