"""`demo`: an offline, scripted storyline for the quickstart, honestly labelled as a demo in every card.

It walks the real path with real tools: a plan, `kernel_inspect` of data the notebook loaded, a training
script written into a new cell, an approval, a real local job (scikit-learn on its bundled digits data), log
polling, and a final answer quoting the accuracy the job printed. Each step is decided from the transcript,
so it reacts to what the tools really returned (a denied approval, a failed job).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..messages import AssistantMessage, Message, ToolResultMessage, UserMessage
from .base import ModelResponse, ModelSettings
from .offline import _OfflineBase, response_from_item

DEMO_LABEL = "[demo model: offline scripted storyline, not a real LLM]"
# How long each `hf_jobs logs` call may wait for the job's next output.
POLL_WAIT_S = 30
MAX_POLLS = 120

TRAIN_SCRIPT = '''\
# /// script
# dependencies = ["scikit-learn"]
# ///
"""Train a linear classifier on scikit-learn's bundled digits data; prints one JSON metrics line per epoch."""
import json

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
model = SGDClassifier(loss="log_loss", alpha=1e-4, random_state=0)
classes = np.unique(y)
for epoch in range(1, 21):
    model.partial_fit(X_train, y_train, classes=classes)
    loss = log_loss(y_train, model.predict_proba(X_train), labels=classes)
    accuracy = model.score(X_test, y_test)
    print(json.dumps({"epoch": epoch, "loss": round(loss, 4), "accuracy": round(accuracy, 4)}), flush=True)
print(f"test_accuracy={model.score(X_test, y_test):.4f}", flush=True)
'''

PLAN = ["Inspect the data loaded in the notebook", "Write a training script into a new cell",
        "Run it as a local job", "Report the test accuracy"]
_FINAL = re.compile(r"\b(completed|succeeded|error|failed|canceled|cancelled|timed? ?out)\b", re.IGNORECASE)


def _plan(done: int) -> dict[str, Any]:
    todos = [{"id": str(i + 1), "content": c, "status": "completed" if i < done else
              ("in_progress" if i == done else "pending")} for i, c in enumerate(PLAN)]
    return {"name": "plan_tool", "arguments": {"todos": todos}}


def _data_name(prompt: str) -> str:
    match = re.search(r"\b([A-Za-z_]\w*)\s*=\s*(?:\w+\.)*load_digits\(", prompt) or re.search(
        r"`([A-Za-z_]\w*)`", prompt)
    return match.group(1) if match else "digits"


def _job_id(text: str) -> str | None:
    match = re.search(r"job[_ ]id\W{0,3}([\w.-]{4,})", text, re.IGNORECASE)
    return match.group(1) if match else None


class DemoModel(_OfflineBase):
    def __init__(self) -> None:
        super().__init__("demo")
        self._tool_names: set[str] = set()

    async def request(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], settings: ModelSettings,
                      on_delta=None) -> ModelResponse:  # type: ignore[no-untyped-def]
        self.requests.append(list(messages))
        self.calls += 1
        self._tool_names = {t["name"] for t in tools}
        step = self._next_step(list(messages))
        return await self._stream(response_from_item(step), on_delta)

    def _next_step(self, messages: list[Message]) -> dict[str, Any]:
        prompt_at = max((i for i, m in enumerate(messages) if isinstance(m, UserMessage) and not m.synthetic),
                        default=0)
        prompt = getattr(messages[prompt_at], "text", "") if messages else ""
        turn = messages[prompt_at + 1:]
        called = [c.name for m in turn if isinstance(m, AssistantMessage) for c in m.tool_calls]
        last_job = [m for m in turn if isinstance(m, ToolResultMessage) and m.tool == "hf_jobs"]
        if tools_missing := {"plan_tool", "kernel_inspect", "notebook_insert_cell", "hf_jobs"} - set(
                self._tool_names):
            return {"text": f"{DEMO_LABEL} This session lacks the tools the demo needs: {sorted(tools_missing)}."}
        if "plan_tool" not in called:
            return {"text": f"{DEMO_LABEL} I'll look at the data you loaded, write a training script into a new "
                            "cell, run it as a local job and report the test accuracy.", "tool_calls": [_plan(0)]}
        if "kernel_inspect" not in called:
            return {"text": "First, what is in the kernel.", "tool_calls": [
                {"name": "kernel_inspect", "arguments": {"name": _data_name(prompt)}}]}
        if "notebook_insert_cell" not in called:
            return {"text": "The digits data: 8x8 images, 10 classes. Here is a training script; it goes into a "
                            "new cell below (it is not run there).", "tool_calls": [
                {"name": "notebook_insert_cell", "arguments": {"source": TRAIN_SCRIPT, "cell_type": "code"}},
                _plan(1)]}
        if not last_job:
            return {"text": "Launching it as a local job (it needs your approval).", "tool_calls": [
                _plan(2), {"name": "hf_jobs", "arguments": {
                    "operation": "uv", "script": TRAIN_SCRIPT, "dependencies": ["scikit-learn"],
                    "runtime": "local", "hardware_flavor": "cpu-basic", "timeout": "10m"}}]}
        launch = last_job[0]
        job_id = _job_id(launch.content)
        if not launch.ok or job_id is None:
            return {"text": f"{DEMO_LABEL} The job did not start: {launch.content[:300]}"}
        latest = last_job[-1]
        polls = len(last_job) - 1
        if len(last_job) == 1 or (not _FINAL.search(latest.content) and polls < MAX_POLLS):
            # Follow the job: each call returns as soon as it printed something new (or ended), so polling never
            # repeats itself, and a quiet stretch is reported as polling, not as a loop.
            return {"text": "", "tool_calls": [{"name": "hf_jobs", "arguments": {
                "operation": "logs", "job_id": job_id, "tail": 5, "wait": POLL_WAIT_S}}]}
        accuracy = re.findall(r"test_accuracy=([0-9.]+)", "\n".join(m.content for m in last_job))
        if not accuracy:
            return {"text": f"{DEMO_LABEL} The job ended without reporting an accuracy:\n{latest.content[-500:]}"}
        plan_closed = any(c.name == "plan_tool" and '"completed"' in c.arguments and '"pending"' not in c.arguments
                          and '"in_progress"' not in c.arguments
                          for m in turn if isinstance(m, AssistantMessage) for c in m.tool_calls)
        if not plan_closed:
            return {"text": "The job finished.", "tool_calls": [_plan(len(PLAN))]}
        return {"text": f"{DEMO_LABEL} Done. The local job trained a linear classifier on the digits data for 20 "
                        f"epochs and reached a **test accuracy of {float(accuracy[-1]):.2%}** (job `{job_id}`). "
                        "The script is in the new cell below and in the session's scripts/ folder."}

