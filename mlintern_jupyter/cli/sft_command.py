"""`mlintern sft build`: options -> `sft.build` (and `sft.hub.push`), with one summary line per result."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..agent.store import sessions_dir
from ..sft.build import EmptySelection
from ..sft.build import build as build_dataset
from ..sft.select import Selection
from .notebooks import BadInput


def build(args: Any) -> int:
    root = Path(args.sessions) if args.sessions else sessions_dir()
    if not root.is_dir():
        raise BadInput(f"no sessions folder at {root}")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise BadInput(f"no folder {out.parent} to write {out.name} into")
    fmt = args.format or ("parquet" if out.suffix == ".parquet" else "jsonl" if out.suffix == ".jsonl" else "")
    if not fmt:
        raise BadInput(f"cannot tell the format of {out.name}: use .jsonl or .parquet, or --format")
    selection = Selection(tuple(t.strip() for t in args.tags.split(",") if t.strip()), args.min_outcome,
                          tuple(args.exclude))
    try:
        result = build_dataset(root, out, selection=selection, per=args.rows,
                               kernel_digests=args.kernel_digests == "keep", fmt=fmt)
    except EmptySelection as exc:
        raise BadInput(str(exc)) from None
    except RuntimeError as exc:  # pyarrow missing
        raise BadInput(str(exc)) from None
    print(f"wrote {result.rows} rows from {result.scan.kept} of {result.scan.read} sessions to {result.path}")
    if args.push:
        from ..sft.hub import PushRefused, push

        try:
            print(f"pushed to {push(result, args.push)}")
        except PushRefused as exc:
            sys.stderr.write(f"mlintern: not pushed: {exc}\n")
            return 1
    return 0
