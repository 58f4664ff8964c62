"""The offline demo storyline on a real shell with the real tools: it reacts to what the tools return."""

from __future__ import annotations

import json

from .test_jupyter_magic import agent_of, ip  # noqa: F401 - the fixture is used by name


def _events(ip):  # noqa: F811
    return [e for e in agent_of(ip).session.events]


def test_demo_trains_a_real_local_job_and_quotes_its_accuracy(ip) -> None:  # noqa: F811
    ip.run_cell("from sklearn.datasets import load_digits\ndigits = load_digits()")
    ip.run_cell_magic("intern", "--model demo --approve auto --budget 1 --wait",
                      "Train a classifier on `digits` and report its test accuracy.")
    events = _events(ip)
    kinds = [e.kind for e in events]
    ends = [e for e in events if e.kind == "turn_ended"]
    assert len(ends) == 1 and ends[0].reason == "done"
    assert "plan_updated" in kinds and "cell_insert" in kinds and "approval_resolved" in kinds
    inspect = next(e for e in events if e.kind == "tool_result" and e.tool == "kernel_inspect")
    assert "Bunch" in inspect.content
    logs = "".join(e.text for e in events if e.kind == "tool_output")
    metrics = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert len(metrics) == 20 and metrics[-1]["accuracy"] > 0.8
    printed = next(line for line in logs.splitlines() if line.startswith("test_accuracy="))
    final = [e for e in events if e.kind == "assistant_message"][-1].text
    assert f"{float(printed.split('=')[1]):.2%}" in final and "demo model" in final
    assert any(e.kind == "job_updated" and e.status == "COMPLETED" for e in events)
    # It followed the job with waiting `logs` calls and never looked like a loop.
    polls = [e for e in events if e.kind == "tool_call" and e.tool == "hf_jobs" and e.arguments.get("operation") == "logs"]
    assert polls and all(p.arguments.get("wait") for p in polls)
    assert not [e for e in events if e.kind == "guard_fired"]


def test_demo_reports_a_denied_job_honestly(ip) -> None:  # noqa: F811
    ip.run_cell("from sklearn.datasets import load_digits\ndigits = load_digits()")
    ip.run_cell_magic("intern", "--model demo --approve deny --wait", "Train a classifier on `digits`.")
    events = _events(ip)
    assert not any(e.kind == "job_updated" for e in events)
    final = [e for e in events if e.kind == "assistant_message"][-1].text
    assert "did not start" in final and "denied" in final
