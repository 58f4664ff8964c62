"""Doom-loop detection on synthetic tool-call traces: our LoopGuards against the reference's rule.

The reference (huggingface/ml-intern, agent/core/doom_loop.py) is reimplemented below as it works there: before
every model call it takes the tool calls of the last 30 messages (signature: name + hash of the raw argument
string + hash of the result), fires on 3 identical consecutive signatures anywhere in that window or on a
pattern of 2-5 calls repeated twice at its end, and appends its corrective prompt as a user message.

Traces are generated with a fixed seed and labelled by construction: an iteration is "looping" when the calls
up to it end in 3 identical calls or in a cycle of 2-5 calls repeated twice (with identical results). Per
detector: episodes caught (true positives), firings while not looping (false positives, split into clean
traces and after a loop ended), and extra firings inside an episode that was already corrected.

Run: python tests/bench_guards.py   (not collected by pytest; the last line is the figures as JSON)
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlintern_jupyter.agent.guards import CallRecord, LoopGuards  # noqa: E402

SEED = 8
PER_CATEGORY = 40
LOOKBACK = 30


@dataclass(frozen=True)
class Call:
    tool: str
    arguments: str  # the raw JSON string the model sent
    result: str


@dataclass
class Trace:
    category: str
    calls: list[Call]
    # episode id per iteration while the tail is looping, else None
    labels: list[int | None] = field(default_factory=list)


# --- trace generation ---------------------------------------------------------------------------------------

class Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = 0

    def distinct(self) -> Call:
        """A call that never repeats: new arguments and a new result."""
        self.n += 1
        tool = self.rng.choice(["read", "bash", "hf_papers", "github_read_file", "kernel_inspect"])
        return Call(tool, json.dumps({"path": f"file_{self.n}.py", "n": self.n}), f"content of file {self.n}")

    def distinct_run(self, lo: int, hi: int) -> list[Call]:
        return [self.distinct() for _ in range(self.rng.randint(lo, hi))]


def identical_loop(g: Gen, reps_lo: int, reps_hi: int, suffix: tuple[int, int]) -> tuple[list[Call], list[bool]]:
    prefix = g.distinct_run(0, 6)
    call = g.distinct()
    reps = g.rng.randint(reps_lo, reps_hi)
    tail = g.distinct_run(*suffix)
    calls = [*prefix, *[call] * reps, *tail]
    looping = [False] * len(prefix) + [i >= 2 for i in range(reps)] + [False] * len(tail)
    return calls, looping


def cycle_loop(g: Gen) -> tuple[list[Call], list[bool]]:
    prefix = g.distinct_run(0, 6)
    length = g.rng.randint(2, 5)
    pattern = [g.distinct() for _ in range(length)]
    reps = g.rng.randint(2, 4)
    tail = g.distinct_run(0, 12)
    calls = [*prefix, *pattern * reps, *tail]
    looping = [False] * len(prefix) + [i >= 2 * length - 1 for i in range(length * reps)] + [False] * len(tail)
    return calls, looping


def polling(g: Gen) -> tuple[list[Call], list[bool]]:
    prefix = g.distinct_run(0, 4)
    args = json.dumps({"operation": "logs", "job_id": f"job{g.n}", "tail": 20})
    polls = [Call("hf_jobs", args, f"RUNNING step {i * 50} loss={2.0 / (i + 1):.4f}") for i in range(g.rng.randint(5, 25))]
    tail = g.distinct_run(0, 6)
    calls = [*prefix, *polls, *tail]
    return calls, [False] * len(calls)


def rechecks(g: Gen) -> tuple[list[Call], list[bool]]:
    """Legitimate work: distinct calls, with a call repeated twice (a re-check) now and then."""
    calls: list[Call] = []
    for _ in range(g.rng.randint(3, 8)):
        calls += g.distinct_run(1, 4)
        if g.rng.random() < 0.6:
            calls += [g.distinct()] * 2
    return calls, [False] * len(calls)


def reordered_keys(g: Gen) -> tuple[list[Call], list[bool]]:
    """A true loop whose argument keys come in a different order each time (the model re-serialises them)."""
    prefix = g.distinct_run(0, 4)
    g.n += 1
    args = {"operation": "inspect", "job_id": f"job{g.n}", "namespace": "me"}
    reps = g.rng.randint(3, 6)
    loop = []
    for i in range(reps):
        keys = list(args)
        keys = keys[i % 3:] + keys[: i % 3]
        loop.append(Call("hf_jobs", json.dumps({k: args[k] for k in keys}), "ERROR: job not found"))
    tail = g.distinct_run(0, 6)
    calls = [*prefix, *loop, *tail]
    return calls, [False] * len(prefix) + [i >= 2 for i in range(reps)] + [False] * len(tail)


CATEGORIES = {
    "identical calls, loop goes on (3-8)": lambda g: identical_loop(g, 3, 8, (0, 4)),
    "3 identical calls, then other calls": lambda g: identical_loop(g, 3, 3, (8, 20)),
    "cycle of 2-5 calls repeated 2-4 times": cycle_loop,
    "polling, result changes": polling,
    "distinct calls with 2x re-checks": rechecks,
    "identical calls, argument keys reordered": reordered_keys,
}


def label(looping: list[bool], start_episode: int) -> tuple[list[int | None], int]:
    """Consecutive looping iterations form one episode."""
    labels: list[int | None] = []
    episode = start_episode
    for i, flag in enumerate(looping):
        if flag and (i == 0 or not looping[i - 1]):
            episode += 1
        labels.append(episode if flag else None)
    return labels, episode


def traces(seed: int = SEED) -> list[Trace]:
    g = Gen(seed)
    out: list[Trace] = []
    episode = 0
    for name, make in CATEGORIES.items():
        for _ in range(PER_CATEGORY):
            calls, looping = make(g)
            labels, episode = label(looping, episode)
            out.append(Trace(name, calls, labels))
    return out


# --- the two detectors, driven the way their loops drive them -----------------------------------------------

def ours(trace: Trace) -> list[int]:
    """Firings per iteration: LoopGuards.after_batch after each batch's results, as agent/loop.py calls it."""
    guards = LoopGuards()
    fired = []
    for call in trace.calls:
        records = [CallRecord(call.tool, json.loads(call.arguments), call.result, True, "ok")]
        fired.append(sum(m.guard == "doom_loop" for m in guards.after_batch(records)))
    return fired


def _h(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()[:12]


def _ref_signatures(messages: list[dict]) -> list[tuple[str, str, str | None]]:
    recent = messages[-LOOKBACK:]
    sigs = []
    for idx, msg in enumerate(recent):
        if msg["role"] != "assistant":
            continue
        for tc in msg.get("tool_calls") or []:
            result = None
            for follow in recent[idx + 1:]:
                if follow["role"] == "tool" and follow["tool_call_id"] == tc["id"]:
                    result = _h(follow["content"])
                    break
                if follow["role"] in ("assistant", "user"):
                    break
            sigs.append((tc["name"], _h(tc["arguments"]), result))
    return sigs


def _ref_identical(sigs: list, threshold: int = 3) -> bool:
    count = 1
    for i in range(1, len(sigs)):
        count = count + 1 if sigs[i] == sigs[i - 1] else 1
        if count >= threshold:
            return True
    return False


def _ref_sequence(sigs: list) -> bool:
    n = len(sigs)
    for seq_len in range(2, 6):
        if n < seq_len * 2:
            continue
        pattern = sigs[-seq_len * 2:][:seq_len]
        reps = 0
        for start in range(n - seq_len, -1, -seq_len):
            if sigs[start:start + seq_len] != pattern:
                break
            reps += 1
        if reps >= 2:
            return True
    return False


def reference_fires(messages: list[dict]) -> bool:
    sigs = _ref_signatures(messages)
    return len(sigs) >= 3 and (_ref_identical(sigs) or _ref_sequence(sigs))


def reference(trace: Trace) -> list[int]:
    """Firings per iteration: the check runs before the next model call, and its prompt joins the transcript."""
    messages: list[dict] = [{"role": "system", "content": "system"}, {"role": "user", "content": "task"}]
    fired = []
    for i, call in enumerate(trace.calls):
        messages.append({"role": "assistant", "tool_calls": [{"id": f"c{i}", "name": call.tool,
                                                              "arguments": call.arguments}]})
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": call.result})
        hit = reference_fires(messages)
        if hit:
            messages.append({"role": "user", "content": "[SYSTEM: DOOM LOOP DETECTED] ..."})
        fired.append(int(hit))
    return fired


# --- scoring ------------------------------------------------------------------------------------------------

def score(all_traces: list[Trace], detector) -> dict:  # type: ignore[no-untyped-def]
    episodes: set[int] = set()
    caught: set[int] = set()
    in_loop = fp_clean = fp_after_loop = 0
    delays: list[int] = []
    for trace in all_traces:
        fired = detector(trace)
        seen_loop = False
        first_at: dict[int, int] = {}
        for i, (n, ep) in enumerate(zip(fired, trace.labels, strict=True)):
            if ep is not None:
                seen_loop = True
                episodes.add(ep)
                first_at.setdefault(ep, i)
                if n:
                    in_loop += n
                    if ep not in caught:
                        caught.add(ep)
                        delays.append(i - first_at[ep])
            elif n:
                if seen_loop:
                    fp_after_loop += n
                else:
                    fp_clean += n
    return {
        "episodes": len(episodes),
        "true_positives": len(caught),
        "missed": len(episodes) - len(caught),
        "false_positives": fp_clean + fp_after_loop,
        "false_positives_clean_traces": fp_clean,
        "false_positives_after_loop_ended": fp_after_loop,
        "repeated_firings_per_episode": round((in_loop - len(caught)) / max(1, len(caught)), 2),
        "firings_per_episode": round((in_loop + fp_after_loop) / max(1, len(episodes)), 2),
        "mean_detection_delay_iterations": round(sum(delays) / max(1, len(delays)), 2),
    }


def main() -> dict:
    all_traces = traces()
    results: dict = {"traces": len(all_traces), "iterations": sum(len(t.calls) for t in all_traces), "by_category": {}}
    for name in ("ours", "reference"):
        results[name] = score(all_traces, ours if name == "ours" else reference)
    for category in CATEGORIES:
        subset = [t for t in all_traces if t.category == category]
        results["by_category"][category] = {name: score(subset, ours if name == "ours" else reference)
                                            for name in ("ours", "reference")}
    print(f"{results['traces']} synthetic traces, {results['iterations']} tool calls, seed {SEED}")
    cols = ("episodes", "true_positives", "false_positives", "repeated_firings_per_episode")
    print(f"{'category':<44} {'detector':<10} " + " ".join(f"{c:>14.14}" for c in cols))
    for category, by in [*results["by_category"].items(), ("ALL", {n: results[n] for n in ("ours", "reference")})]:
        for name, s in by.items():
            print(f"{category:<44} {name:<10} " + " ".join(f"{s[c]:>14}" for c in cols))
    print(json.dumps({"bench": "guards", **results}))
    return results


if __name__ == "__main__":
    main()
