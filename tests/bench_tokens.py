"""Token economics of prompt caching on a fixed 40-iteration tool-using turn (tests/fixtures/bench_transcript.json.gz).

Billed-equivalent input tokens at Anthropic's rates (cache write 1.25x, cache read 0.1x) for
(a) no caching, (b) the reference's breakpoints (tools, system prompt, last *user* message), (c) ours
(`apply_prompt_caching`). Anthropic's cache is simulated: a breakpoint writes the prefix ending at its block; a
request reads the longest cached prefix found at a breakpoint or up to 20 blocks before it; prefixes under
1,024 tokens are not cached. Tokens are estimated at four characters a token (the same for all three).

Run: python tests/bench_tokens.py   (not collected by pytest)
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlintern_jupyter.agent.caching import apply_prompt_caching  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "bench_transcript.json.gz"
WRITE, READ = 1.25, 0.1
LOOKBACK = 20
MIN_CACHEABLE = 1024


def text(o: object) -> str:
    """The content a block carries, without cache markers (which do not change what is cached)."""
    if isinstance(o, dict):
        return "".join(text(v) for k, v in sorted(o.items()) if k not in ("cache_control", "type"))
    if isinstance(o, list):
        return "".join(text(v) for v in o)
    return "" if o is None else str(o)


def tokens_of(obj: object) -> int:
    return len(text(obj)) // 4


def has_mark(obj: dict) -> bool:
    content = obj.get("content")
    return "cache_control" in obj or (isinstance(content, list) and any("cache_control" in b for b in content))


def blocks_of(messages: list[dict], tools: list[dict]) -> tuple[list[int], list[str], list[int]]:
    """Token count, content hash and breakpoint flags of each block, in Anthropic's order: tools, system, messages."""
    items = [{"tools": tools}, *messages]
    sizes = [tokens_of(i) for i in items]
    keys, h = [], hashlib.sha256()
    for item in items:
        h.update(text(item).encode())
        keys.append(h.hexdigest())
    marks = [i for i, item in enumerate(items) if (i == 0 and any("cache_control" in t for t in tools)) or (i > 0 and has_mark(item))]
    return sizes, keys, marks


def bill(requests: list[tuple[list[int], list[str], list[int]]]) -> float:
    cache: set[str] = set()
    total = 0.0
    for sizes, keys, marks in requests:
        prefix = [sum(sizes[: i + 1]) for i in range(len(sizes))]
        read_end = -1
        for b in marks:
            for k in range(b, max(-1, b - LOOKBACK), -1):
                if keys[k] in cache:
                    read_end = max(read_end, k)
                    break
        write_end = max(marks) if marks else -1
        read = prefix[read_end] if read_end >= 0 else 0
        written = (prefix[write_end] - read) if write_end > read_end else 0
        total += READ * read + WRITE * written + (prefix[-1] - read - written)
        for b in marks:
            if prefix[b] >= MIN_CACHEABLE:
                cache.add(keys[b])
    return total


def reference(messages: list[dict], tools: list[dict]) -> tuple[list[dict], list[dict]]:
    """ml-intern's breakpoints: tools, the system prompt and the last user message."""
    messages, tools = json.loads(json.dumps(messages)), json.loads(json.dumps(tools))
    tools[-1]["cache_control"] = {"type": "ephemeral"}
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    for i in (0, last_user):
        messages[i]["content"] = [{"type": "text", "text": messages[i]["content"], "cache_control": {"type": "ephemeral"}}]
    return messages, tools


def main() -> dict[str, float]:
    data = json.loads(gzip.decompress(FIXTURE.read_bytes()))
    model, tools, transcript = data["model"], data["tools"], data["messages"]
    # Request i carries the system prompt, the prompt and the first i call/result pairs.
    requests = [transcript[: 2 + 2 * i] for i in range(len(transcript) // 2)]
    a = sum(sum(blocks_of(r, tools)[0]) for r in requests)
    b = bill([blocks_of(*reference(r, tools)) for r in requests])
    c = bill([blocks_of(*apply_prompt_caching("litellm", model, r, tools, "bench")[:2]) for r in requests])
    outputs = [tokens_of(m["content"]) for m in transcript if m["role"] == "tool"]
    print(f"transcript: {len(requests)} model calls, tool outputs {min(outputs)}-{max(outputs)} tokens")
    print(f"(a) no caching:                        {a:>12,.0f} billed-equivalent input tokens")
    print(f"(b) tools + system + last user message: {b:>12,.0f}")
    print(f"(c) ours (tools, system, rolling x2):  {c:>12,.0f}")
    print(f"ratio (c)/(b) = {c / b:.3f}   (goal <= 0.35)")
    print(json.dumps({"bench": "tokens", "model_calls": len(requests), "a": a, "b": b, "c": c, "ratio": c / b}))
    return {"a": a, "b": b, "c": c, "ratio": c / b}


if __name__ == "__main__":
    main()
