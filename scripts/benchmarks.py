"""Run every benchmark, measure the anchors in the same run, and write BENCHMARKS.md.

Each benchmark runs as its own subprocess (tests/bench_*.py, labextension/ui-tests/bench_panel.mjs) and prints its
figures as a last JSON line. The anchors measured here: the reference's caching strategy (inside bench_tokens),
the reference's doom-loop rule on the same traces (inside bench_guards), and `import jupyter_ai_magics` from a
throwaway venv under the temp dir, installed from the package registry on first use.

Run: .venv/bin/python scripts/benchmarks.py [--only engine,tokens,...] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JAI_VENV = Path(tempfile.gettempdir()) / "mlintern_bench_jai"
IMPORT_ROUNDS = 15


@dataclass
class Outcome:
    name: str
    figures: dict | None = None
    error: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def run_json(name: str, cmd: list[str], cwd: Path, env: dict, timeout: float) -> Outcome:
    """Run one benchmark; its figures are the last stdout line that parses as a JSON object."""
    started = time.monotonic()
    print(f"== {name}: {' '.join(cmd)}", flush=True)
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome(name, error=f"timed out after {timeout:.0f} s", seconds=time.monotonic() - started)
    took = time.monotonic() - started
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            print(f"   {line}")
    for line in reversed(proc.stdout.splitlines()):
        try:
            figures = json.loads(line)
        except ValueError:
            continue
        if isinstance(figures, dict):
            return Outcome(name, figures, seconds=took)
    tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-3:]
    outcome = Outcome(name, error=f"exit {proc.returncode}, no JSON figures: {' / '.join(tail)}", seconds=took)
    if name == "jobs" and proc.returncode == 0:
        jobs_fallback(outcome, proc.stdout)
    return outcome


def jobs_fallback(outcome: Outcome, stdout: str) -> None:
    """bench_jobs' `key=value | ...` rows, for a version of it without the JSON line."""
    runs = []
    for line in stdout.splitlines():
        if line.startswith("runtime="):
            runs.append({k: v for k, _, v in (part.partition("=") for part in line.split(" | "))})
    if runs:
        outcome.figures, outcome.error = {"bench": "jobs", "runs": runs}, ""


# --- the import anchor ---------------------------------------------------------------------------------------

def ensure_jai_venv() -> tuple[Path | None, str]:
    """A throwaway venv with jupyter-ai-magics from the registry (kept out of the project venv)."""
    python = JAI_VENV / "bin" / "python"
    check = [str(python), "-c", "import jupyter_ai_magics, IPython; print(jupyter_ai_magics.__version__)"]
    if python.exists():
        probe = subprocess.run(check, capture_output=True, text=True, cwd=tempfile.gettempdir())
        if probe.returncode == 0:
            return python, probe.stdout.strip()
    print(f"== installing jupyter-ai-magics into {JAI_VENV} (first run only)", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(JAI_VENV)], check=True, capture_output=True)
        pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                              "jupyter-ai-magics"], capture_output=True, text=True, timeout=420)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"pip install jupyter-ai-magics failed: {exc}"
    if pip.returncode != 0:
        errors = [line for line in pip.stderr.splitlines() if "ERROR" in line] or pip.stderr.splitlines()[-2:]
        return None, "pip install jupyter-ai-magics failed: " + " / ".join(errors[-2:])
    probe = subprocess.run(check, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if probe.returncode != 0:
        return None, "jupyter-ai-magics installed but does not import: " + probe.stderr.strip().splitlines()[-1]
    return python, probe.stdout.strip()


def wall_ms(python: str, code: str, env: dict, cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-c", code], check=True, env=env, cwd=cwd, capture_output=True)
    return (time.perf_counter() - start) * 1000


def imports(env: dict) -> Outcome:
    started = time.monotonic()
    print("== imports: import IPython + mlintern_jupyter vs + jupyter_ai_magics", flush=True)
    jai, version = ensure_jai_venv()
    cwd = tempfile.gettempdir()  # neither package importable from the working directory
    ours_env = {**env, "PYTHONPATH": str(ROOT)}
    jai_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    commands = {
        "ours_base": (sys.executable, "import IPython", ours_env),
        "ours": (sys.executable, "import IPython, sys, mlintern_jupyter; assert 'litellm' not in sys.modules", ours_env),
    }
    if jai:
        commands["jai_base"] = (str(jai), "import IPython", jai_env)
        commands["jai"] = (str(jai), "import IPython, jupyter_ai_magics", jai_env)
    samples: dict[str, list[float]] = {k: [] for k in commands}
    try:
        for round_ in range(IMPORT_ROUNDS + 1):  # round 0 warms the bytecode caches and is dropped
            for key, (python, code, e) in commands.items():  # interleaved: all see the same machine noise
                ms = wall_ms(python, code, e, cwd)
                if round_:
                    samples[key].append(ms)
    except subprocess.CalledProcessError as exc:
        return Outcome("imports", error=f"{exc.cmd[-1]!r} failed (litellm imported?)", seconds=time.monotonic() - started)
    # The minimum, not the median: on a shared machine the noise only ever adds time.
    best = {k: round(min(v), 1) for k, v in samples.items()}
    figures = {"bench": "imports", "rounds": IMPORT_ROUNDS, **{f"{k}_ms": v for k, v in best.items()},
               "ours_extra_ms": round(best["ours"] - best["ours_base"], 1)}
    if jai:
        figures.update(jai_version=version, jai_extra_ms=round(best["jai"] - best["jai_base"], 1))
    outcome = Outcome("imports", figures, seconds=time.monotonic() - started)
    if not jai:
        outcome.notes.append(version)
    return outcome


# --- the table -----------------------------------------------------------------------------------------------

def fmt(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "—"


def yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def rows(results: dict[str, Outcome]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    no_goal = ("—", "—", "—", "no goal set")

    def failed(name: str, label: str) -> bool:
        o = results.get(name)
        if o is None:
            out.append((label, "not run (--only)", "", "", "", ""))
            return True
        if o.figures is None:
            out.append((label, f"**failed**: {o.error}", "", "", "", "**no**"))
            return True
        return False

    if not failed("engine", "engine (#2)"):
        f = results["engine"].figures
        for n in ("10", "100", "1000"):
            out.append(("engine (#2)", f"loop overhead per iteration at {n} messages: {fmt(f['per_iteration_ms'][n], 2)} ms",
                        *no_goal))
        out.append(("engine (#2)", f"ratio 1000/10: {f['ratio_1000_10']:.2f}", "≤ 1.5", "—", "—", yes(f["ratio_1000_10"] <= 1.5)))
    if not failed("imports", "imports (#2, #8)"):
        f = results["imports"].figures
        anchor_extra = f"{f['jai_extra_ms']:+.0f} ms (jupyter_ai_magics {f['jai_version']})" if "jai_ms" in f else \
            "not measured: " + "; ".join(results["imports"].notes)
        out.append(("imports (#2, #8)", f"`import IPython, mlintern_jupyter` over `import IPython`: {f['ours_extra_ms']:+.0f} ms, "
                    "litellm not imported", "≤ 150 ms, no litellm", anchor_extra, "—", yes(f["ours_extra_ms"] <= 150)))
        if "jai_ms" in f:
            out.append(("imports (#2, #8)", f"`import IPython, mlintern_jupyter` wall: {fmt(f['ours_ms'], 0)} ms", "—",
                        f"`import IPython, jupyter_ai_magics`: {fmt(f['jai_ms'], 0)} ms", ratio(f["ours_ms"], f["jai_ms"]),
                        "no goal set"))
    if not failed("tokens", "prompt caching (#3)"):
        f = results["tokens"].figures
        out.append(("prompt caching (#3)", f"(a) no caching: {fmt(f['a'], 0)} billed-equivalent input tokens", *no_goal))
        out.append(("prompt caching (#3)", f"(c) ours: {fmt(f['c'], 0)} tokens", "(c)/(b) ≤ 0.35",
                    f"(b) reference strategy: {fmt(f['b'], 0)}", f"{f['ratio']:.3f}", yes(f["ratio"] <= 0.35)))
    if not failed("guards", "doom loop (#3)"):
        f = results["guards"].figures
        o, r = f["ours"], f["reference"]
        out.append(("doom loop (#3)", f"loop episodes caught: {o['true_positives']}/{o['episodes']}", "all",
                    f"reference rule: {r['true_positives']}/{r['episodes']}", ratio(o["true_positives"], r["true_positives"]),
                    yes(o["missed"] == 0)))
        out.append(("doom loop (#3)", f"false positives (firings while not looping): {o['false_positives']}", "0",
                    f"{r['false_positives']} ({r['false_positives_after_loop_ended']} after the loop had ended)",
                    ratio(o["false_positives"], r["false_positives"]), yes(o["false_positives"] == 0)))
        out.append(("doom loop (#3)", f"repeated firings per episode: {o['repeated_firings_per_episode']}", "0 (one message per episode)",
                    f"{r['repeated_firings_per_episode']}", ratio(o["repeated_firings_per_episode"], r["repeated_firings_per_episode"]),
                    yes(o["repeated_firings_per_episode"] == 0)))
    if not failed("comm", "kernel → frontend (#4)"):
        f = results["comm"].figures
        out.append(("kernel → frontend (#4)", f"{f['tool_calls']}-tool-call turn, widgets only: {f['widgets_messages']} iopub messages, "
                    f"{fmt(f['widgets_bytes'] / 1024)} KiB", *no_goal))
        out.append(("kernel → frontend (#4)", f"same turn with the panel's comm attached: {f['with_comm_messages']} messages, "
                    f"{fmt(f['with_comm_bytes'] / 1024)} KiB ({f['comm_events']} comm events)", *no_goal))
        out.append(("kernel → frontend (#4)", f"kernel memory growth over 1,000 events: {fmt(f['memory_1000_events_bytes'] / 1024, 0)} KiB",
                    *no_goal))
    if not failed("jobs", "job logs (#5)"):
        f = results["jobs"].figures
        whole = whole_log_chars(int(f.get("lines", 200_000)))
        for run in f["runs"]:
            label = f"job logs (#5), {run['runtime']}"
            out.append((label, f"watcher peak memory: {run['watcher_peak_mib']} MiB for {int(run['lines']):,} lines", *no_goal))
            out.append((label, f"time to first log event: {run['first_log_event_s']} s", *no_goal))
            biggest = max(int(run[k]) for k in ("launch_result_chars", "logs_tail50_chars", "logs_grep_chars"))
            out.append((label, f"reaching the model's context: launch {run['launch_result_chars']}, logs tail 50 "
                        f"{run['logs_tail50_chars']}, grep {run['logs_grep_chars']} chars", "tail / grep only (< 1% of the log)",
                        f"whole log: {fmt(whole, 0)} chars (what pasting it would cost)", f"{biggest / whole:.4f}",
                        yes(biggest * 100 < whole)))
    if not failed("playbook", "playbook (#15)"):
        out += playbook_rows(results["playbook"].figures)
    if not failed("agent_eval", "agent evaluation (#15)"):
        f = results["agent_eval"].figures
        figure = f"not run: {f['skipped']}" if "skipped" in f else \
            f"{f['model']}: {f['passed']} of {f['graded']} graded rules and checks passed on {len(f['tasks'])} tasks"
        out.append(("agent evaluation (#15)", figure, *no_goal))
    if not failed("research", "research (#17)"):
        f = results["research"].figures
        d, c, r = f["docs"], f["crawl"], f["research"]
        out.append(("research (#17)", f"docs: first query of a {d['pages']}-page library (fetch every page, build and "
                    f"store the BM25 index): {fmt(d['first_query_ms'] / 1000, 1)} s, {d['first_query_requests']} requests",
                    "—", f"previous algorithm, every query: {fmt(d['previous_ms'] / 1000, 1)} s, "
                    f"{d['previous_requests']} requests", ratio(d["first_query_ms"], d["previous_ms"]), "no goal set"))
        out.append(("research (#17)", f"docs: a query after the first: {d['after_first_ms']} ms, "
                    f"{d['after_first_requests']} requests (next session, from disk: {d['next_session_ms']} ms, "
                    f"{d['next_session_requests']} requests)", "no fetch, < 50 ms",
                    f"previous algorithm: {fmt(d['previous_ms'], 0)} ms, {d['previous_requests']} requests",
                    f"{d['after_first_ms'] / max(d['previous_ms'], 1e-9):.5f}",
                    yes(d["after_first_requests"] == 0 and d["after_first_ms"] < 50 and d["next_session_requests"] == 0)))
        out.append(("research (#17)", f"citation crawl, depth {c['depth']} ({c['calls']} citation_graph calls, "
                    f"{c['papers_listed']} papers listed): {c['s2_requests']} Semantic Scholar requests, {c['wall_s']} s, "
                    f"{c['chars_returned']:,} chars (≈ {c['tokens_returned']:,} tokens) to the model", *no_goal))
        out.append(("research (#17)", f"research sub-agent: answer {r['answer_chars']:,} chars (≈ {r['answer_tokens']:,} "
                    f"tokens) to the parent, from {r['tool_output_read_chars']:,} chars of tool output in its own context "
                    f"({r['child_tool_calls']} calls; {r['parent_tool_cards']} card, {r['progress_events']} progress events)",
                    "—", "—", f"{r['answer_chars'] / max(r['tool_output_read_chars'], 1):.2f}", "no goal set"))
    if not failed("fold", "state fold (#12)"):
        f = results["fold"].figures
        for n, goal_s in (("10000", 1.0), ("100000", 10.0)):
            out.append(("state fold (#12)", f"replay of a {int(n):,}-event log ({f[f'log_mib_{n}']} MiB): "
                        f"{f[f'replay_s_{n}']} s", f"< {goal_s:g} s", f"json.loads of the same lines: {f[f'json_loads_s_{n}']} s",
                        ratio(f[f"replay_s_{n}"], f[f"json_loads_s_{n}"]), yes(f[f"replay_s_{n}"] < goal_s)))
        anchor = f.get("json_loads_ratio_100k_10k")
        out.append(("state fold (#12)", f"100,000 / 10,000 replay time: {f['replay_ratio_100k_10k']}",
                    "linear: 10x the events within 10x the 1 s goal", f"json.loads 100,000 / 10,000: {anchor}",
                    ratio(f["replay_ratio_100k_10k"], anchor or 0), yes(f["replay_s_100000"] < 10.0)))
        p = f["property"]
        out.append(("state fold (#12)", f"live = replayed state: {p['examples'] - p['mismatching_examples']}/{p['examples']} "
                    f"generated sequences ({p['prefixes']:,} prefixes)", "all", "—", "—", yes(p["mismatching_examples"] == 0)))
        t = f["trace"]
        out.append(("state fold (#12)", "trace totals read by claude-code-log: " + ", ".join(
            f"{k} {t['claude_code_log'][k]:,}" for k in t["claude_code_log"]), "equal to the session's usage",
            "session: " + ", ".join(f"{k} {v:,}" for k, v in t["session"].items()), "—", yes(t["equal"])))
    if not failed("redact", "redaction (#16)"):
        out += redact_rows(results["redact"].figures)
    if not failed("panel", "side panel (#7)"):
        f = results["panel"].figures
        out.append(("side panel (#7)", f"render a {f['history_events']}-event session ({f['timeline_cards']} cards): "
                    f"{f['render_ms_first']} ms first, {', '.join(map(str, f['render_ms_after_reload']))} ms after reloads",
                    *no_goal))
        out.append(("side panel (#7)", f"event leaving the kernel → card painted: p50 {f['event_to_card_ms_p50']} ms, "
                    f"p95 {f['event_to_card_ms_p95']} ms, max {f['event_to_card_ms_max']} ms ({f['live_events']} events)",
                    *no_goal))
    if not failed("cards", "cards: panel and cell (#13)"):
        f = results["cards"].figures
        p, i, r = f["panel"], f["inline"], f["inline_over_panel"]
        label = "cards: panel and cell (#13)"
        out.append((label, f"render a {f['history_events']}-event session ({i['cards']} cards) in the inline card: "
                    f"{i['render_ms']} ms", "—", f"the side panel, same kernel and events: {p['render_ms']} ms",
                    f"{r['render']}", "no goal set"))
        out.append((label, f"event leaving the kernel → inline card painted: p50 {i['event_to_card_ms_p50']} ms, "
                    f"p95 {i['event_to_card_ms_p95']} ms ({i['live_events']} events)",
                    "the panel's figures (p50 15 ms, p95 25 ms when measured alone): within 1.5x of the panel in this run",
                    f"the side panel: p50 {p['event_to_card_ms_p50']} ms, p95 {p['event_to_card_ms_p95']} ms",
                    f"{r['event_to_card_p50']} / {r['event_to_card_p95']}",
                    yes(r["event_to_card_p50"] is not None and r["event_to_card_p50"] <= 1.5
                        and r["event_to_card_p95"] is not None and r["event_to_card_p95"] <= 1.5)))
        out.append((label, f"click on Approve → job card running, in the inline card: median "
                    f"{i['approve_to_running']['median_ms']} ms ({i['approve_to_running']['rounds']} rounds, real kernel)",
                    "—", f"in the side panel: median {p['approve_to_running']['median_ms']} ms",
                    f"{r['approve_to_running']}", "no goal set"))
    for name, label, paths in (("insertions", "cell insertions (#13)", ("headless_quickstart", "headless_two_sessions")),
                               ("insertions_ui", "cell insertions (#13)", ("chromium_run_all", "chromium_two_sessions"))):
        if failed(name, label):
            continue
        f = results[name].figures
        for path in paths:
            r = f[path]
            note = f"; not exact: {'; '.join(r['failures'])}" if r["failures"] else ""
            out.append((label, f"{path.replace('_', ' ')}: exactly one cell per insertion, below its %%intern, in "
                        f"{r['exact_runs']}/{f['runs']} runs ({r['mean_s']} s a run){note}", "every run", "—", "—",
                        yes(r["exact_runs"] == f["runs"])))
    if not failed("sandbox", "OS sandbox (#11)"):
        f = results["sandbox"].figures
        if "error" in f:
            out.append(("OS sandbox (#11)", f"not measured: {f['error']}", "", "", "", ""))
        else:
            out.append(("OS sandbox (#11)", f"{f['commands']:,} bash calls in bubblewrap: {f['sandboxed_total_s']} s "
                        f"({f['sandboxed_median_ms']} ms median, {f['extra_ms_per_command']:+} ms a call)", "—",
                        f"the same calls unsandboxed: {f['plain_total_s']} s ({f['plain_median_ms']} ms median)",
                        f"{f['ratio_total']:.2f}", "no goal set"))
    if not failed("providers", "providers (#14)"):
        out.extend(provider_rows(results["providers"].figures))
    if not failed("cli", "mlintern command (#18)"):
        out.extend(cli_rows(results["cli"].figures))
    if not failed("attacks", "security attacks (#11)"):
        out.extend(attack_rows(results["attacks"].figures))
    return out


def cli_rows(f: dict) -> list[tuple[str, ...]]:
    out = [("mlintern command (#18)", f"`mlintern run` (demo model, local job): {f['command_s']} s; measured apart: "
            f"kernel start {f['kernel_start_s']} s, the command's imports {f['import_cli_s']} s, the first "
            f"`%%intern` in a fresh kernel {f['first_cell_fresh_kernel_s']} s", "—",
            f"the same prompt as `%%intern --wait` in an open kernel: {f['open_kernel_cell_s']} s",
            f"{f['ratio']:.2f} ({f['ratio_without_kernel_start']:.2f} without the kernel start)", "no goal set")]
    sft = f["sft"]
    sizes = sorted({int(k.split("_")[1]) for k in sft})
    for fmt in ("jsonl", "parquet"):
        small, big = sft[f"{fmt}_{sizes[0]}"], sft[f"{fmt}_{sizes[-1]}"]
        out.append(("mlintern command (#18)", f"`sft build` to {fmt}: " + ", ".join(
            f"{n:,} sessions {sft[f'{fmt}_{n}']['seconds']} s / {sft[f'{fmt}_{n}']['vmhwm_mib']} MiB peak RSS"
            for n in sizes), "memory flat in the number of sessions",
            f"{sizes[0]:,} sessions: {small['vmhwm_mib']} MiB", f"{big['vmhwm_mib'] / small['vmhwm_mib']:.2f}",
            yes(big["vmhwm_mib"] < small["vmhwm_mib"] * 1.25)))
    return out


def attack_rows(f: dict) -> list[tuple[str, ...]]:
    """The Measure of issue 11: every attack the matrix performs, per approval mode; goal 0 in every mode."""
    if "error" in f:
        return [("security attacks (#11)", f"not measured: {f['error']}", "", "", "", "")]
    out: list[tuple[str, ...]] = []
    for mode, row in sorted(f["attacks"].items()):
        clean = row["secret"] == 0 and row["over_cap_usd"] == 0 and row["others"] == 0 and row["unapproved"] == 0
        out.append((f"security attacks (#11), {mode}", f"{int(row['tried'])} tried: {int(row['secret'])} reached a "
                    f"secret, ${row['over_cap_usd']:.2f} beyond the cap, {int(row['others'])} touched another "
                    f"person's resource, {int(row['unapproved'])} ran without the click {mode} requires",
                    "0 of each", "—", "—", yes(clean)))
    out.extend(guard_rows(f["guards"], f["guards_cost"]))
    numbers = ", ".join(str(n) for n in f["attack_numbers"])
    out.append(("security attacks (#11)", f"attacks covered: {numbers}; matrix runs {f['passed']}/{f['runs']} passed "
                f"({f['pytest_summary']})", "every attack the matrix can express", "—", "—",
                yes(f["passed"] == f["runs"] and f["pytest_exit"] == 0)))
    return out


def guard_rows(sides: dict, cost: dict) -> list[tuple[str, ...]]:
    """The same attacks with the defences and with one switched off (the matrix's controls), side by side."""
    on, off = sides.get("on, controlled"), sides.get("off")
    if not on or not off:
        return [("security attacks (#11), defences off", "not measured: no control ran", "", "", "", "")]
    label = "security attacks (#11), defences off"
    return [
        (label, f"{int(off['runs'])} runs with one defence switched back to main's old behaviour: "
         f"{int(off['through'])} got something through", "all (the judge sees an attack that works)",
         f"the same attacks and modes with the defences: {int(on['through'])}/{int(on['runs'])} got through", "—",
         yes(off["through"] == off["runs"] and on["through"] == 0)),
        (label, f"cost of the guards: {cost['cards_per_call_on']} cards per tool call with them "
         f"({cost['seconds_per_run_on']} s a run; over all {int(sides['on']['runs'])} runs of attacks 5-9 and 14 "
         f"{cost['cards_per_call_all']} cards per call)", "—",
         f"without (controls): {cost['cards_per_call_off']} cards per call, {cost['seconds_per_run_off']} s a run",
         f"{cost['cards_per_call_ratio']} (time {cost['seconds_per_run_ratio']})", "no goal set"),
    ]


def provider_rows(f: dict) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for route, r in f["routes"].items():
        label = f"providers (#14), {route.replace('_', ' ')}"
        out.append((label, f"{r['steps']}-step session ({r['model']}, effort {r['effort']}): {r['requests']} requests, "
                    f"{r['refused']} refused by the fake, ended by an error: {r['ended_by_error']} (with a 429 and an "
                    f"overload injected)", "0 refused, 0 ended", "—", "—",
                    yes(r["refused"] == 0 and r["ended_by_error"] == 0)))
        cost = ("cost unknown for all " + str(r["cost_unknown_calls"]) + " calls (never $0.00)"
                if r["cost_usd"] is None else f"${r['cost_usd']:.4f}")
        anchor = f"fake's own usage: {fmt(r['fake_prompt_tokens'], 0)} prompt tokens, cache read {r['fake_cache_read_share']:.1%}"
        if r.get("fake_cost_usd") is not None:
            anchor += f", cost ${r['fake_cost_usd']:.4f}"
        out.append((label, f"recorded: {fmt(r['prompt_tokens'], 0)} prompt tokens, cache read {r['cache_read_share']:.1%}, "
                    f"{cost}", "agree with the fake", anchor,
                    f"{r['usage_agreement']:.3f}" + (f" / {r['cost_agreement']:.3f}" if r.get("cost_agreement") else ""),
                    yes(r["usage_agreement"] == 1.0 and r.get("cost_agreement") in (None, 1.0))))
    q = f["first_request"]
    out.append(("first request (#14)", f"fresh kernel, `%load_ext` 6 s before the first `%%intern`: "
                f"{q['load_ext_6s_earlier_s']} s to the first model request", "ratio ≤ 1.2",
                f"litellm imported before `%load_ext`: {q['litellm_already_imported_s']} s",
                f"{q['ratio_6s_vs_imported']:.2f}", yes(q["ratio_6s_vs_imported"] <= 1.2)))
    out.append(("first request (#14)", f"`%load_ext` just before the cell: {q['load_ext_just_before_s']} s "
                "(what the background import cannot hide)", "—", "—", "—", "no goal set"))
    return out


def playbook_rows(f: dict) -> list[tuple[str, ...]]:
    """Ours against ml-intern's published prompt and schemas (issue 15's goals: 30 concepts, <= 12,000 tokens)."""
    label, o, r = "playbook (#15)", f["ours"], f["reference"]
    rows = []
    for kind, what in (("system_tokens", "system prompt"), ("tools_tokens", "tool schemas")):
        rows.append((label, f"{what}: {o[kind]['claude']:,} tokens (Claude), {o[kind]['gpt']:,} (GPT)"
                     + (f", {o['tools']} tools" if kind == "tools_tokens" else ""), "—",
                     f"ml-intern: {r[kind]['claude']:,} / {r[kind]['gpt']:,}"
                     + (f", {r['tools']} tools" if kind == "tools_tokens" else ""),
                     ratio(o[kind]["claude"], r[kind]["claude"]), "no goal set"))
    total = {k: o["system_tokens"][k] + o["tools_tokens"][k] for k in ("claude", "gpt")}
    ref_total = {k: r["system_tokens"][k] + r["tools_tokens"][k] for k in ("claude", "gpt")}
    rows.append((label, f"system prompt + tool schemas: {total['claude']:,} (Claude), {total['gpt']:,} (GPT)",
                 "≤ 12,000", f"ml-intern: {ref_total['claude']:,} / {ref_total['gpt']:,}",
                 ratio(total["claude"], ref_total["claude"]), yes(max(total.values()) <= 12_000)))
    rows.append((label, f"concepts covered: {o['concepts']}/30" + (f" (missing {', '.join(o['missing'])})"
                                                                   if o["missing"] else ""),
                 "30/30", f"ml-intern: {r['concepts']}/30 (missing {', '.join(r['missing']) or 'none'})",
                 ratio(o["concepts"], r["concepts"]), yes(o["concepts"] == 30 and not o["project_concepts_missing"])))
    a = f["graders"]
    agree, labelled = (a["hand_built"]["agree"] + a["session_logs"]["agree"],
                       a["hand_built"]["labelled"] + a["session_logs"]["labelled"])
    rows.append((label, f"grader agreement on scripted trajectories: {agree}/{labelled} "
                 f"({a['hand_built']['agree']}/{a['hand_built']['labelled']} hand-built, "
                 f"{a['session_logs']['agree']}/{a['session_logs']['labelled']} on harness session logs)",
                 "all", "ml-intern: no graders", "—", yes(agree == labelled)))
    calls = f.get("ml_intern_calls")
    if calls:
        rows.append((label, f"ml-intern-shaped calls accepted: {calls['accepted']}/{calls['table']} (one per "
                     "operation of its tools, run through the gate against the fakes)", "all", "ml-intern: its own "
                     "shapes", ratio(calls["accepted"], calls["table"]), yes(calls["accepted"] == calls["table"])))
    else:
        rows.append((label, "ml-intern-shaped calls accepted", "all", "—", "—", "not measured in this run"))
    return rows


def agent_eval_section(f: dict | None) -> list[str]:
    lines = ["", "## Agent evaluation (issue 15)", "",
             "`scripts/eval_agent.py --model MODEL` runs the tasks of `tests/agent_eval/tasks.py` in a real session "
             "against the loopback Hub, GitHub and search fakes, with any litellm model, and grades each trajectory "
             "(its event log) with `mlintern_jupyter/evaluation/graders.py`. It calls a real model, so it runs only "
             "when a provider key is present."]
    if not f:
        return lines + ["", "Not run in this benchmark run."]
    if "skipped" in f:
        return lines + ["", f"**No results here: {f['skipped']}** (tasks: {', '.join(f['tasks'])})."]
    lines += ["", f"Model `{f['model']}`: {f['passed']} of {f['graded']} graded rules and checks passed.", "",
              "| task | turn ended | model calls | cost (LLM + compute) | failed rules and checks |", "|---|---|---|---|---|"]
    for row in f["tasks"]:
        failed_ = [k for k, v in {**row["rules"], **row["checks"]}.items() if v is False]
        lines.append(f"| {row['task']} | {row['end']} | {row['model_calls']} | "
                     f"${row['llm_cost_usd'] + row['compute_cost_usd']:.2f} | {', '.join(failed_) or 'none'} |")
    return lines


def whole_log_chars(lines: int) -> int:
    """Size of the log bench_jobs' job prints (same format string)."""
    return sum(len(f"step {i} loss={1 / (i + 1):.6f}\n") for i in range(lines))


def redact_rows(f: dict) -> list[tuple[str, ...]]:
    o, b = f["ours"], f["baseline"]
    label = "redaction (#16)"

    def pct(x: float) -> str:
        return f"{100 * x:.1f}%"

    return [
        (label, f"corpus: {o['positives']:,} secrets of {o['formats']} formats, alone and in {o['syntaxes']} context syntaxes; "
                f"{o['negatives']:,} placeholders, references and look-alikes", "≥ 2,000 over ≥ 150 formats, ≥ 10 syntaxes",
         "same corpus", "—", yes(o["positives"] >= 2000 and o["formats"] >= 150 and o["syntaxes"] >= 10)),
        (label, f"recall in context: {pct(o['recall_context'])}", "≥ 95%", f"{f['baseline_ref']} ({f['baseline_commit']}): "
         f"{pct(b['recall_context'])}", ratio(o["recall_context"], b["recall_context"]), yes(o["recall_context"] >= 0.95)),
        (label, f"recall alone: {pct(o['recall_alone'])}", "≥ 80%", pct(b["recall_alone"]), ratio(o["recall_alone"], b["recall_alone"]),
         yes(o["recall_alone"] >= 0.80)),
        (label, f"negatives changed: {pct(o['negatives_changed'])}", "—", pct(b["negatives_changed"]),
         ratio(o["negatives_changed"], b["negatives_changed"]), "no goal set"),
        (label, f"changes per MB of benign code (CPython {o['stdlib_mb']} MB stdlib): {o['stdlib_changes_per_mb']:.2f}", "≤ 1",
         f"{b['stdlib_changes_per_mb']:.2f}", ratio(o["stdlib_changes_per_mb"], b["stdlib_changes_per_mb"]), yes(o["stdlib_changes_per_mb"] <= 1)),
        (label, f"changes per MB of benign code (third-party packages installed here: {o['thirdparty_mb']} MB of "
                f"{o['thirdparty_packages']} packages): {o['thirdparty_changes_per_mb']:.2f}", "≤ 1", f"{b['thirdparty_changes_per_mb']:.2f}",
         ratio(o["thirdparty_changes_per_mb"], b["thirdparty_changes_per_mb"]), yes(o["thirdparty_changes_per_mb"] <= 1)),
        (label, f"throughput, {o['log_mb']} MB mixed log in one call: {o['log_mb_per_s']} MB/s", "≥ 10 MB/s", f"{b['log_mb_per_s']} MB/s",
         ratio(o["log_mb_per_s"], b["log_mb_per_s"]), yes(o["log_mb_per_s"] >= 10)),
        (label, f"throughput, the same log in 4 KB chunks: {o['chunks_4k_mb_per_s']} MB/s", "≥ 10 MB/s", f"{b['chunks_4k_mb_per_s']} MB/s",
         ratio(o["chunks_4k_mb_per_s"], b["chunks_4k_mb_per_s"]), yes(o["chunks_4k_mb_per_s"] >= 10)),
        (label, f"slowest of {len(o['pathological_s'])} pathological 1 MB inputs: {o['worst_s_per_mb']} s ({o['worst_input']})",
         "≤ 0.2 s per MB", f"{b['worst_s_per_mb']} s ({b['worst_input']})", ratio(o["worst_s_per_mb"], b["worst_s_per_mb"]),
         yes(o["worst_s_per_mb"] <= 0.2)),
    ]


def guard_table(f: dict) -> list[str]:
    lines = ["| traces | detector | episodes | caught | false positives | repeated firings / episode |",
             "|---|---|---|---|---|---|"]
    for category, by in f["by_category"].items():
        for name, s in by.items():
            lines.append(f"| {category} | {name} | {s['episodes']} | {s['true_positives']} | {s['false_positives']} | "
                         f"{s['repeated_firings_per_episode']} |")
    return lines


def write_report(path: Path, results: dict[str, Outcome], total_s: float) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    md = [
        "# Benchmarks",
        "",
        f"Written by `.venv/bin/python scripts/benchmarks.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"(commit {commit or '?'} plus working tree; Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.machine()}; {total_s:.0f} s in all). Every anchor was measured in the same run "
        "as the figure beside it; the ratio is ours / anchor. Timings are wall clock on a machine that may be shared, "
        "so read them as orders of magnitude, not to the millisecond.",
        "",
        "| benchmark | figure | goal | anchor (same run) | ratio | met? |",
        "|---|---|---|---|---|---|",
        *("| " + " | ".join(r) + " |" for r in rows(results)),
        "",
        "## How each figure was measured",
        "",
        "- **engine** (`tests/bench_engine.py`): a zero-latency scripted model and a no-op tool, 60 iterations on top of a "
        "transcript of 10, 100 and 1,000 messages, median of 3; the session writes its event log as in real use.",
        "- **imports** (this script): wall time of `python -c` in a fresh interpreter, the fastest of "
        f"{IMPORT_ROUNDS} interleaved rounds after a warm-up (noise only adds time); ours in the project venv, `jupyter_ai_magics` in a throwaway "
        f"venv (`{JAI_VENV}`) installed from the package registry, each against `import IPython` in its own venv.",
        "- **prompt caching** (`tests/bench_tokens.py`): the checked-in 40-iteration transcript "
        "(`tests/fixtures/bench_transcript.json.gz`), billed-equivalent input tokens at Anthropic's rates (write 1.25x, "
        "read 0.1x) with Anthropic's cache simulated; (b) is the reference's breakpoints (tools, system prompt, last "
        "user message).",
        "- **doom loop** (`tests/bench_guards.py`): synthetic traces with a fixed seed, labelled by construction; our "
        "`LoopGuards` against a reimplementation of huggingface/ml-intern's `agent/core/doom_loop.py` (30-message "
        "lookback, identical-run check anywhere in the window, its prompt appended to the transcript), each checked "
        "after every iteration's results. One category (argument keys re-serialised in another order) is a loop the "
        "reference's raw-string hash cannot see; the table below gives every category on its own.",
        "- **kernel → frontend** (`tests/bench_comm.py`): a real ipykernel, `%%intern --wait` with a scripted model "
        "making 50 tool calls; iopub messages and bytes counted on the client; memory by tracemalloc in the kernel.",
        "- **job logs** (`tests/bench_jobs.py`): a job printing 200,000 lines, on the local runtime and on HF Jobs "
        "against the loopback fake Hub (its server in another process); peak Python memory of the watcher "
        "(tracemalloc), time from launch to the first log event, and what the model sees (launch result, "
        "`logs` with tail 50 and with grep). The whole-log size is computed from the job's format string; issue 5 sets "
        "no number, so \"met\" here means the largest piece the model sees is under 1% of the log.",
        "- **playbook** (`tests/bench_playbook.py`): the system prompt (playbook plus session context) and tool "
        "schemas a notebook session signed in to the loopback Hub sends, counted with litellm's `token_counter` for "
        "`anthropic/claude-sonnet-4-5` and `gpt-4o`; huggingface/ml-intern's `system_prompt_v3.yaml` (with its "
        "session-context line) and the 19 tool schemas of its default sandbox mode, measured from its source "
        "(`tests/ml_intern_reference.py`, figures recorded at the commit named in the raw figures; `--reference "
        "GIT_DIR` measures them again). Concepts: the 30 regexes of `tests/fixtures/concepts.json` on both texts "
        "(plus 5 project-only concepts, ours only). Grader agreement: each rule's verdict against the label of the "
        "scripted good and bad trajectories of `tests/test_eval_graders.py`. ml-intern-shaped calls: the rows of "
        "`tests/ml_intern_calls.py` (one per operation of its tools, with its argument names), each sent by a scripted "
        "model through a real session's gate (a person approves every card) to the loopback Hub, GitHub, Semantic "
        "Scholar, search and Slack fakes; accepted when the call ran and its result holds what the row expects.",
        "- **redaction** (`tests/bench_redact.py`): our redactor and the baseline's (main's, or the last main commit before "
        "this redactor; extracted from git, each in its own process) on the same inputs. Corpus "
        "(`tests/fixtures/redaction/corpus.py`, `formats.py`): fake credentials synthesised from the documented shapes "
        "of gitleaks', trufflehog's and detect-secrets' rules and vendor docs, each alone and in a dozen context syntaxes "
        "(shell, .env, Python, JS/TS, Go, Java, PHP, Ruby, C#, Objective-C, Kotlin, Rust, Makefile, YAML, Kubernetes and "
        "GitHub Actions env lists, TOML, INI, properties, XML, JSON, HTTP headers, URLs, CLI flags, logs); caught = "
        "neither the secret nor any 12-character piece of it that was not already in the surrounding text survives. "
        "Negatives: each format's placeholders, references and look-alikes, and ML text that looks random. Benign code: "
        "every .py file of this interpreter's standard library, one change = one placeholder inserted. Throughput: a "
        "5 MB mix of ML logs, events, code and 1% secrets, in one call and in 4 KB chunks; pathological: 1 MB inputs "
        "built to flood the prefilter or backtrack (needles, operators, quotes and escapes repeated). Times are CPU "
        "seconds of the redacting process (best of 2-3 runs), since wall time on this shared machine measures the "
        "neighbours.",
        "- **research** (`tests/bench_research.py`): the loopback fake Hub and fake Semantic Scholar in the benchmark's "
        "process. Docs: a generated 300-page library; the first `explore_hf_docs` query fetches the sidebar and every "
        "page's markdown and writes a BM25 (tantivy) index to disk; then the median of 5 other queries, and one from a "
        "new registry (the next session); the anchor is the previous algorithm (sidebar plus the first 80 pages "
        "fetched and keyword-counted on every query), reimplemented in the benchmark. Crawl: `citation_graph` "
        "direction=citations with limit 10 on a paper with 30 citing papers, then on each of the 10 listed (20 "
        "citing papers each); tokens are chars / 4. Research: the sub-agent driven by a scripted model through a "
        "10-call literature crawl; its answer (what reaches the parent) against the tool output it read.",
        "- **security attacks** (`tests/bench_attacks.py`): the reliability matrix's attack files in a real kernel "
        "against the loopback Hub, GitHub, search and an attacker's listener, a scripted model that obeys what it "
        "reads, each attack in `ask`, `auto` and `deny`: `tests/reliability/test_secrets.py` (attacks 1-4: the token "
        "file, the kernel's environment, re-encoded secrets, a listener, a Space, kernel variables) and "
        "`tests/reliability/test_attacks.py` (5: approve-for-session; 6: an edit after the card; 7: three $4 jobs "
        "under a $5 cap, a week-long A100 sandbox; 8: the token into a public repo, the first trace upload; 9: "
        "cancelling the person's other job; 14: a model path naming the token file). A careful person is played by "
        "the test. Money beyond the cap is what the fake Hub billed (price x run time) minus the cap. Controls "
        "(not counted above) run an attack again with one defence switched back to main's old behaviour (the "
        "session allow-list by first word, for a prefix and for an interpreter; $0 settlement of an unknown "
        "flavour; cancel as a read) and show the judge catching it. They are the \"defences off\" side: what got "
        "through, cards a person was shown per tool call and seconds a run, against the same attacks and modes "
        "with the defences, in the same run.",
        "- **OS sandbox** (`tests/bench_sandbox.py`): the `bash` tool running 1,000 short commands (echo, ls, wc, "
        "a small pipeline) as a policy-approved call (inside bubblewrap: namespaces, private HOME and /tmp, "
        "read-only system) and as a person-approved call (plain), interleaved in blocks of 25; the ratio is "
        "sandboxed / plain over the whole run, each call timed from the tool call to its result.",
        "- **state fold** (`tests/bench_fold.py`): logs of 10,000 and 100,000 events in the store's line format "
        "(realistic iterations: usage, a message with two tool calls, an approval, a reservation, job output and "
        "metrics, a settlement), read, decoded strictly and folded as `Session.resume` does (best of 3 runs), "
        "against plain `json.loads` of the same lines; the state-fold property (`tests/fold_check.py`) over 300 "
        "generated event sequences, live state against replayed state after every prefix; and a generated session "
        "(tool calls, a research sub-agent, a compaction) written as a trace and read by claude-code-log (PyPI).",
        "- **side panel** (`labextension/ui-tests/bench_panel.mjs`): Debian's Chromium (playwright-core, "
        "`/usr/bin/chromium`) against a throwaway JupyterLab with the built extension; the kernel side is a fake "
        "`mlintern` comm target run in a cell (as in the panel's browser tests), so the figures are transport plus "
        "the panel's parse, reduce and render. Render: from the kernel sending the 1,000-event history to the last "
        "card painted (first connection, then after page reloads, which also load JupyterLab itself). Live: 60 "
        "events 50 ms apart, each stamped with the kernel's clock when sent, to the frame its card is painted in.",
        "- **cards: panel and cell** (`tests/bench_cards.py` running `labextension/ui-tests/bench_cards.mjs`): Debian's "
        "Chromium, a real JupyterLab with the built extension and anywidget. One kernel cell serves the same "
        "1,000-event history to the side panel's comm and to an inline card (`TurnView`, the anywidget), then sends the "
        "same 60 live events (50 ms apart) to both: render is from the kernel sending the history (the panel's hello, "
        "the card's history request) to the last card painted; live is from the event leaving the kernel to its card "
        "painted. Approve → running uses the real kernel side: a scripted model launches a local `hf_jobs` run; each "
        "round starts a `--new` session and clicks Approve in the panel or in the inline card, timing in the page from "
        "the click to that view's job card showing RUNNING (or a later state).\n"
        "- **cell insertions** (`tests/bench_insertions.py`, `labextension/ui-tests/bench_insertions.mjs`): 20 runs "
        "of each path, each in a fresh kernel: the quickstart and a notebook with two `--new` demo sessions executed "
        "by nbclient, their cells written from the log by the headless writer; and in Chromium with the real kernel, "
        "Run All on a quickstart-like notebook with the side panel open, and the two sessions run cell by cell with "
        "the panel attached. A run is exact when every cell_insert event has exactly one cell, right below its "
        "`%%intern` cell, and nothing else moved.",
        "- **providers** (`tests/bench_providers.py`): loopback fakes of the Anthropic Messages and OpenAI Chat "
        "Completions APIs (the latter also as the HF router and as a local vLLM-style server) that refuse what the "
        "services refuse, driven through litellm's real transformations. Per route a 30-step session with 2-4 "
        "parallel tool calls a step, every built-in tool and an MCP tool with a 76-character name and a 2,000-character "
        "description exposed, a 429 without Retry-After at step 10 and an overload (529 / 503) at step 20 (retry "
        "waits simulated). Usage and cost agreement: what the session recorded over what the fake reported (cost "
        "recomputed with litellm's price map from the fake's own counts). First request: three fresh kernels per "
        "round, 2 rounds, the fastest; the clock runs from sending the `%%intern` cell to the fake receiving the "
        "request.",
        "- **mlintern command** (`tests/bench_cli.py`): `mlintern run` with the offline `demo` model and `--approve "
        "auto` (plan, kernel_inspect, a script cell, a local scikit-learn job, polling, the answer) as a subprocess, "
        "median of 3, against the same prompt as a `%%intern --new --wait` cell in one kernel kept open (extension "
        "loaded before timing), median of 3; the kernel start is measured in an in-process headless run. `sft "
        "build` over generated sessions (3 turns of 3 `hf_jobs` calls, about 12 KB of log each) at 100, 300 and "
        "1,000 sessions, each size in a fresh process: wall time and VmHWM (peak resident memory).",
    ]
    if "guards" in results and results["guards"].figures:
        md += ["", "## Doom loop, by kind of trace", "", *guard_table(results["guards"].figures)]
    if "agent_eval" in results:
        md += agent_eval_section(results["agent_eval"].figures)
    problems = [f"- {o.name}: {o.error}" for o in results.values() if o.error]
    problems += [f"- {o.name}: {n}" for o in results.values() for n in o.notes]
    if problems:
        md += ["", "## Not measured or failed", "", *problems]
    md += ["", "## Raw figures", "", "<details><summary>JSON of every benchmark</summary>", "", "```json",
           json.dumps({k: o.figures for k, o in results.items()}, indent=1), "```", "", "</details>", ""]
    path.write_text("\n".join(md))


def main() -> int:
    names = ["engine", "imports", "tokens", "guards", "comm", "jobs", "fold", "research", "playbook", "agent_eval",
             "redact", "panel", "cards", "sandbox", "providers", "cli", "attacks", "insertions", "insertions_ui"]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(names), help="comma-separated subset of: " + ", ".join(names))
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    chosen = [n for n in args.only.split(",") if n]
    if unknown := set(chosen) - set(names):
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    home = tempfile.mkdtemp(prefix="mlintern_benchmarks_")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLINTERN_HOME": home, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_OFFLINE_MODE": "true"}
    py = sys.executable
    started = time.monotonic()
    results: dict[str, Outcome] = {}
    for name in names:
        if name not in chosen:
            continue
        if name == "imports":
            results[name] = imports(env)
        elif name in ("panel", "insertions_ui"):
            results[name] = panel(env, name)
        elif name == "agent_eval":
            # Runs the tasks only when a provider key is set; otherwise it says so (and costs nothing).
            results[name] = run_json(name, [py, "scripts/eval_agent.py", "--json"], ROOT, env, 3600)
        else:
            timeout = {"jobs": 300, "comm": 240, "providers": 600, "fold": 600, "cli": 1800, "redact": 900,
                       "attacks": 1800, "insertions": 3600, "cards": 1300}.get(name, 180)
            results[name] = run_json(name, [py, f"tests/bench_{name}.py"], ROOT, env, timeout)
        o = results[name]
        print(f"   {name}: {'ok' if o.figures else 'FAILED ' + o.error} ({o.seconds:.0f} s)", flush=True)
    shutil.rmtree(home, ignore_errors=True)
    out = Path(args.out)
    write_report(out, results, time.monotonic() - started)
    print(f"wrote {out}")
    return 0 if all(o.figures for o in results.values()) else 1


def panel(env: dict, name: str = "panel") -> Outcome:
    node = shutil.which("node")
    chromium = os.environ.get("MLINTERN_CHROMIUM", "/usr/bin/chromium")
    missing = [what for what, ok in (("node", node), (chromium, Path(chromium).exists()),
                                     ("the built extension (cd labextension && npm run build)",
                                      (ROOT / "mlintern_jupyter/labextension/package.json").exists()),
                                     ("labextension/node_modules (npm ci)", (ROOT / "labextension/node_modules").exists()))
               if not ok]
    if missing:
        return Outcome(name, error="not run, missing: " + ", ".join(missing))
    lab_env = {k: v for k, v in env.items() if k not in ("MLINTERN_LAB_URL", "MLINTERN_LAB_TOKEN")}
    script, timeout = {"panel": ("ui-tests/bench_panel.mjs", 240),
                       "insertions_ui": ("ui-tests/bench_insertions.mjs", 5400)}[name]
    return run_json(name, [node, script], ROOT / "labextension", lab_env, timeout)


if __name__ == "__main__":
    sys.exit(main())
