"""Cards as testable views: buttons clicked with Button.click(), model text always escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.control import commands as c
from mlintern_jupyter.control.commands import Reply
from mlintern_jupyter.jupyter.approval_card import ApprovalCard
from mlintern_jupyter.jupyter.cards import AssistantTextCard, JobCard, svg_polyline
from mlintern_jupyter.jupyter.view import TurnView, static_record
from mlintern_jupyter.tools.jobs.metrics import metric_points, parse_metrics

XSS = '<img src=x onerror="alert(1)">'


class Sent(list):
    """A dispatcher stand-in for card tests: records the typed commands the buttons send."""

    def __init__(self, reply: Reply | None = None) -> None:
        super().__init__()
        self.reply = reply or Reply(ok=True, message="ok")

    def __call__(self, command):
        self.append(command)
        return self.reply


def request(script: str | None = "print('train')", cost: float | None = 1.5) -> ev.ApprovalRequested:
    action = {"tool": "hf_jobs", "operation": "uv", "hardware_flavor": "a10g-small", "timeout_s": 3600}
    if script is not None:
        action["script"] = script
    expires = (datetime.now(UTC) + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    return ev.ApprovalRequested(call_id="c1", nonce="n1", action_sha256="ab" * 32, cost_usd=cost, expires_at=expires,
                                tool="hf_jobs", action=action, budget_left_usd=8.5, reason="runs a job on HF compute")


def test_approval_card_shows_the_action_and_approve_sends_the_nonce() -> None:
    answers = Sent()
    card = ApprovalCard(request(), answers)
    text = card.header.value + card.action.value
    for needle in ("$1.50 worst case", "$8.50 left", "abababababab", "a10g-small", "print(&#x27;train&#x27;)",
                   "expires in 29 min"):
        assert needle in text
    card.approve_button.click()
    assert answers == [c.Approve(nonce="n1")]
    assert all(b.disabled for b in card.buttons)
    card.approve_button.click()  # a second click sends nothing
    assert len(answers) == 1


def test_deny_sends_the_typed_feedback_and_resolution_updates_the_card() -> None:
    answers = Sent()
    card = ApprovalCard(request(), answers)
    card.feedback.value = "too expensive, use cpu"
    card.deny_button.click()
    assert answers == [c.Deny(nonce="n1", feedback="too expensive, use cpu")]
    card.update(ev.ApprovalResolved(call_id="c1", decision="denied", by="person", feedback="too expensive, use cpu"))
    assert card.status.value.startswith("denied by person")


def test_edit_in_a_cell_offers_the_script_under_an_approve_line() -> None:
    edits = Sent(Reply(ok=True, data={"source": "%%intern approve n1\nprint('train')"}))
    card = ApprovalCard(request(), edits)
    card.edit_button.click()
    assert edits == [c.EditInCell(nonce="n1")]
    assert card.edit_text.value == "%%intern approve n1\nprint('train')"
    assert ApprovalCard(request(script=None), Sent()).edit_button.disabled is True


def test_model_text_with_markup_is_shown_as_text_everywhere() -> None:
    view = TurnView(offline=True, model="demo")
    view.update(ev.AssistantMessage(text=XSS))
    view.update(ev.ToolCall(call_id="c", tool=XSS, arguments={"x": XSS}))
    view.update(ev.ToolResult(call_id="c", tool=XSS, ok=True, content=XSS))
    view.update(ev.PlanUpdated(todos=[{"id": "1", "content": XSS, "status": "pending"}]))
    view.update(ev.Error(message=XSS))
    view.update(ev.CellInsert(call_id="c", source=XSS, script_path="/tmp/" + XSS))
    view.update(ev.TurnEnded(reason="done"))
    values = [w.value for w in _walk(view.widget) if hasattr(w, "value") and isinstance(w.value, str)]
    assert values and not any("<img" in v for v in values)
    assert any("&lt;img" in v for v in values)
    _, markup = static_record(view.events, offline=True)
    assert "<img" not in markup and "&lt;img" in markup and "demo model" in markup
    assert "demo model" in view.title.value and "demo model" in view.footer.widget.value


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def test_stop_button_is_there_before_any_event_and_sends_stop_for_its_turn() -> None:
    stops = Sent()
    view = TurnView(send=stops)
    assert not view.stop_button.disabled
    view.stop_button.click()
    assert stops == [c.Stop(turn_id=view.turn_id)] and view.stop_button.disabled


def test_streamed_text_is_batched_to_ten_updates_a_second() -> None:
    now = [0.0]
    card = AssistantTextCard(clock=lambda: now[0])
    renders = []
    card.widget.observe(lambda change: renders.append(change["new"]), "value")
    for _ in range(100):  # 100 deltas within 0.5 s
        card.update(ev.AssistantDelta(text="a"))
        now[0] += 0.005
    assert len(renders) <= 6
    card.update(ev.AssistantMessage(text="a" * 100))
    assert "a" * 100 in card.widget.value


def test_job_card_tails_logs_plots_metrics_and_cancels() -> None:
    cancelled = Sent()
    card = JobCard(ev.JobUpdated(call_id="c", job_id="j1", status="running", hardware="a10g-small"), cancelled)
    for step in range(30):
        line = f"step={step} loss={1 / (step + 1):.3f}"
        card.update(ev.ToolOutput(call_id="c", job_id="j1", text=line))
        card.update(ev.JobMetrics(call_id="c", job_id="j1", points=metric_points([line])))
    card.update(ev.ToolOutput(call_id="c", job_id="j1", text='{"loss": 0.01, "note": "<b>x</b>"}'))
    assert card.log.value.splitlines()[-1].startswith('{"loss"')
    assert len(card.log.value.splitlines()) == 15
    assert "<polyline" in card.plot.value and "loss" in card.plot.value
    card.cancel_button.click()
    assert cancelled == [c.CancelJob(job_id="j1")] and card.cancel_button.disabled
    card.update(ev.JobUpdated(call_id="c", job_id="j1", status="COMPLETED", cost_usd=0.42))
    assert "$0.42" in card.header.value


@pytest.mark.parametrize("status", ["COMPLETED", "ERROR", "CANCELED", "TIMEOUT", "DELETED", "cancelled"])
def test_job_card_disables_cancel_in_every_terminal_state(status: str) -> None:
    from huggingface_hub._jobs_api import TERMINAL_JOB_STAGES

    assert {str(s.value) for s in TERMINAL_JOB_STAGES} <= set(ev.JOB_TERMINAL_STATUSES)
    card = JobCard(ev.JobUpdated(call_id="c", job_id="j1", status="RUNNING"), Sent())
    assert not card.cancel_button.disabled
    card.update(ev.JobUpdated(call_id="c", job_id="j1", status=status))
    assert card.cancel_button.disabled and card.cancel_button.layout.display == "none"
    assert status in card.header.value


@pytest.mark.parametrize("status", ["RUNNING", "SCHEDULING", "PENDING"])
def test_job_card_keeps_cancel_while_the_job_may_run(status: str) -> None:
    card = JobCard(ev.JobUpdated(call_id="c", job_id="j1", status="RUNNING"), Sent())
    card.update(ev.JobUpdated(call_id="c", job_id="j1", status=status))
    assert not card.cancel_button.disabled


def test_metric_parsing_keeps_numbers_only() -> None:
    assert parse_metrics("epoch 1: loss=0.42 step=10 lr=3e-4") == {"loss": 0.42, "step": 10.0, "lr": 3e-4}
    assert parse_metrics('{"loss": 0.4, "tag": "x", "ok": true}') == {"loss": 0.4}
    assert svg_polyline([1.0]) == ""
    assert svg_polyline([3.0, 2.0, 1.0]).count("<polyline") == 1


def test_view_routes_events_to_the_right_cards() -> None:
    view = TurnView(send=Sent())
    view.update(ev.ToolCall(call_id="c1", tool="hf_jobs", arguments={"operation": "uv"}))
    view.update(request())
    assert "awaiting approval" in view.tools["c1"].widget.value
    view.update(ev.ApprovalResolved(call_id="c1", decision="approved", by="person", nonce="n1"))
    view.update(ev.ToolStarted(call_id="c1", tool="hf_jobs"))
    view.update(ev.JobUpdated(call_id="c1", job_id="j", status="running"))
    view.update(ev.ToolOutput(call_id="c1", job_id="j", text="loss=1"))
    view.update(ev.ToolResult(call_id="c1", tool="hf_jobs", ok=True, content="job j started", duration_s=0.2))
    view.update(ev.Usage(prompt_tokens=1000, completion_tokens=50, cache_read_tokens=250, cost_usd=0.01))
    assert view.approvals["n1"].decision == "approved"
    assert view.jobs["j"].lines == ["loss=1"]
    assert "ok" in view.tools["c1"].widget.value and "0.2s" in view.tools["c1"].widget.value
    assert "cache hits 25%" in view.footer.widget.value and "$0.0100" in view.footer.widget.value


def test_approval_countdown_refreshes_and_expires_without_a_new_event() -> None:
    from datetime import UTC, datetime, timedelta

    from mlintern_jupyter.agent import events as ev
    from mlintern_jupyter.jupyter.approval_card import ApprovalCard

    soon = (datetime.now(UTC) + timedelta(seconds=0.3)).isoformat().replace("+00:00", "Z")
    answers = Sent()
    card = ApprovalCard(ev.ApprovalRequested(call_id="c", nonce="n", action_sha256="ab" * 32, cost_usd=0.0,
                                             expires_at=soon, tool="bash", action={"tool": "bash"}), answers)
    card.TICK_S = 0.1
    assert "expires in" in card.header.value
    import time

    time.sleep(0.4)
    card._tick()
    assert "expired" in card.header.value and card.approve_button.disabled
    card.approve_button.click()
    assert answers == []


def test_approve_for_this_session_only_for_plain_read_only_commands_and_names_the_shape() -> None:
    from mlintern_jupyter.agent import events as ev
    from mlintern_jupyter.agent.approval import classify
    from mlintern_jupyter.jupyter.approval_card import ApprovalCard

    def request(tool: str, args: dict) -> ev.ApprovalRequested:
        spec = classify(tool, args)
        return ev.ApprovalRequested(call_id="c", nonce="n", action_sha256=spec.sha256(), cost_usd=0.0,
                                    expires_at="2099-01-01T00:00:00Z", tool=tool, action=spec.model_dump(mode="json"))

    answers = Sent()
    card = ApprovalCard(request("bash", {"command": "wc -l data/train.csv", "timeout": 60}), answers)
    assert card.shape == "wc -l <arg>" and "Approve `wc -l <arg>` for this session" in card.session_button.description
    card.session_button.click()
    assert answers == [c.ApproveForSession(nonce="n")]
    for tool, args in [("bash", {"command": "ls; rm -rf ~"}), ("bash", {"command": "echo $HF_TOKEN"}),
                       ("bash", {"command": "ls\nrm x"}), ("hf_jobs", {"operation": "run", "command": ["ls"]}),
                       ("bash", {"command": "pytest -q tests"}), ("bash", {"command": "CUDA_VISIBLE_DEVICES=0 ls"}),
                       ("bash", {"command": "./ls -la"}), ("bash", {"command": "sed -n 1p notes.txt"})]:
        other = ApprovalCard(request(tool, args), Sent())
        assert other.shape is None and other.session_button.disabled, (tool, args)
        assert other.session_button.layout.display == "none"


def test_a_research_sub_agent_is_one_collapsible_card_with_its_steps_escaped() -> None:
    view = TurnView(send=Sent())
    view.update(ev.ToolCall(call_id="r1", tool="research", arguments={"task": "best DPO recipe"}))
    view.update(ev.ToolStarted(call_id="r1", tool="research"))
    steps = [ev.SubagentProgress(call_id="r1", step="started", text="best DPO recipe"),
             ev.SubagentProgress(call_id="r1", step="tool_call", tool="hf_papers", text="operation='citation_graph'"),
             ev.SubagentProgress(call_id="r1", step="tool_result", tool="hf_papers", text=f"900 chars: {XSS}"),
             ev.SubagentProgress(call_id="r1", step="tool_call", tool="web_search", text="query='x'"),
             ev.SubagentProgress(call_id="r1", step="tool_result", tool="web_search", text="429", ok=False)]
    for step in steps:
        view.update(step)
    view.update(ev.ToolResult(call_id="r1", tool="research", ok=True, content="## Recipe table", duration_s=3.0))
    body_cards = [w for w in view.body.children]
    assert len(body_cards) == 1  # one card for the whole sub-agent, not one per step
    html = view.tools["r1"].widget.value
    assert "<details class='mlintern-subagent'><summary>research: 2 tool calls, 5 steps</summary>" in html
    assert "<b>hf_papers</b> operation=&#x27;citation_graph&#x27;" in html and "(failed)" in html
    assert XSS not in html and "&lt;img" in html
    text, _ = static_record(view.events)
    assert "research · hf_papers(operation='citation_graph')" in text
    # a long crawl keeps the latest steps and says how many came before
    for i in range(100):
        view.update(ev.SubagentProgress(call_id="r1", step="tool_call", tool="read", text=f"step {i}"))
    html = view.tools["r1"].widget.value
    assert "… 45 earlier steps" in html and "step 99" in html and "step 39" not in html


def test_a_placed_cell_cannot_be_inserted_again_from_its_card() -> None:
    sent = Sent()
    view = TurnView(send=sent, session_id="s1")
    view.update(ev.CellInsert(session_id="s1", call_id="c9", source="print(1)"))
    card = view.cells["c9"]
    card.button.click()
    assert sent == [c.InsertCell(session_id="s1", call_id="c9")]
    view.update(ev.CellPlaced(session_id="s1", call_id="c9", by="panel"))
    assert card.button.disabled and "placed in the notebook by the panel" in card.status.value
