"""`mlintern sft build`: real sessions -> rows TRL's SFTTrainer takes, loaded with `datasets`, formatted with a chat
template; selection, redaction on the way out, streaming writers, and the push to the loopback Hub."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from mlintern_jupyter.agent.models.offline import ScriptedModel
from mlintern_jupyter.agent.redact import Redactor
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.agent.store import sessions_dir
from mlintern_jupyter.cli import main
from mlintern_jupyter.sft.build import EmptySelection, build
from mlintern_jupyter.sft.hub import PushRefused, push
from mlintern_jupyter.sft.select import Selection
from mlintern_jupyter.tools.registry import Tool, ToolRegistry

from .helpers import call

FIXTURES = Path(__file__).parent / "fixtures"
LEAK = "wb-live-9f8e7d6c5b4a39281706"  # in the log in clear: its variable only exists at build time


async def inspect_data(name: str) -> str:
    """Look at a dataset (read-only)."""
    return f"{name}: 50,000 rows; columns text, label; api key seen in a config: {LEAK}"


async def launch(script: str) -> str:
    """Run a training script (needs approval)."""
    return "job launched: job-1"


TOOLS = [Tool.from_function(inspect_data, read_only=True), Tool.from_function(launch)]


def make_session(model: ScriptedModel, **config) -> Session:
    # No secrets known while recording (Redactor()): the build must mask what it knows at build time.
    return Session(SessionConfig(model=model.name, **config), ToolRegistry(TOOLS), model=model, redactor=Redactor())


def run(session: Session, prompt: str | None, **kwargs) -> None:
    asyncio.run(session.run_turn(prompt, **kwargs))


def training_session() -> Session:
    """A read-only call; then a launch a person approves after the turn ended waiting, continued in a third
    turn; the second prompt carries a kernel digest."""
    model = ScriptedModel([
        {"text": "Looking at the data.", "tool_calls": [call("inspect_data", {"name": "imdb"})]},
        "It has 50,000 rows.",
        {"text": "Launching.", "tool_calls": [call("launch", {"script": "trainer.train()"})]},
        "Launched job-1.",
    ])
    session = make_session(model, person_present=False)
    run(session, "train distilbert on imdb")
    run(session, "go ahead and launch it", kernel_digest="In [3]: df.shape -> (50000, 2)")
    session.approve(next(iter(session.approvals.records)))  # as `mlintern approve`, then `mlintern resume`
    run(session, None)
    return session


def denied_session() -> Session:
    """A person denies the launch after the turn ended waiting (as after `mlintern run` in ask mode)."""
    model = ScriptedModel([{"tool_calls": [call("launch", {"script": "x"})]}, "Understood, not launching."])
    session = make_session(model, person_present=False)
    run(session, "evaluate the model on the test split")
    nonce = next(iter(session.approvals.records))
    session.deny(nonce, "too expensive")
    run(session, None)
    return session


def error_session() -> Session:
    session = make_session(ScriptedModel([]))
    run(session, "   ")
    return session


@pytest.fixture
def sessions():
    made = [training_session(), denied_session(), error_session()]
    for session in made:
        session.close()
    return {"train": made[0], "denied": made[1], "error": made[2]}


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rows_are_openai_tool_calling_messages_one_per_turn(sessions, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", LEAK)
    result = build(sessions_dir(), tmp_path / "sft.jsonl", selection=Selection(tags=("task:training",)))
    out = rows(result.path)
    assert [(r["session_id"], r["turn"], r["turn_outcome"]) for r in out] == [
        (sessions["train"].id, 1, "done"), (sessions["train"].id, 2, "awaiting_approval"),
        (sessions["train"].id, 3, "done")]
    assert out[1]["messages"][-1]["tool_calls"][0]["function"]["name"] == "launch"  # the call, before its answer
    messages = out[2]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant", "user",
                                             "assistant", "tool", "assistant"]
    assert messages[0]["content"].startswith("You are ML Intern")
    launch_call = messages[6]["tool_calls"][0]
    assert launch_call["type"] == "function" and launch_call["function"] == {
        "name": "launch", "arguments": {"script": "trainer.train()"}}
    assert messages[7] == {"role": "tool", "tool_call_id": launch_call["id"], "name": "launch",
                           "content": "job launched: job-1"}
    assert "df.shape" in messages[5]["content"]  # the kernel digest, fenced as data
    # Secrets known now are masked on the way out, even where the log had them in clear.
    assert LEAK in (sessions_dir() / sessions["train"].id / "events.jsonl").read_text()
    assert LEAK not in result.path.read_text()
    names = {t["function"]["name"] for t in out[0]["tools"]}
    assert {"hf_jobs", "notebook_insert_cell", "kernel_inspect", "inspect_data", "launch"} <= names
    assert out[0]["tags"] == out[2]["tags"] and {"tool:launch", "feedback:approved"} <= set(out[0]["tags"])


def test_per_session_rows_dropped_digests_and_the_selection_filters(sessions, tmp_path):
    result = build(sessions_dir(), tmp_path / "s.jsonl", selection=Selection(), per="session", kernel_digests=False)
    out = rows(result.path)
    assert {r["session_id"] for r in out} == {sessions["train"].id, sessions["denied"].id}  # the error one said nothing
    assert all(r["turn"] is None for r in out) and result.scan.read == 3
    assert "df.shape" not in result.path.read_text()
    kept = build(sessions_dir(), tmp_path / "d.jsonl", selection=Selection(exclude=("denied",)))
    assert {r["session_id"] for r in rows(kept.path)} == {sessions["train"].id}
    at_least_done = build(sessions_dir(), tmp_path / "o.jsonl", selection=Selection(min_outcome="success"))
    assert {r["session_id"] for r in rows(at_least_done.path)} == {sessions["train"].id, sessions["denied"].id}
    denied = rows(build(sessions_dir(), tmp_path / "f.jsonl", selection=Selection(tags=("feedback:denied",))).path)
    tool_result = next(m for m in denied[-1]["messages"] if m["role"] == "tool")
    assert "too expensive" in tool_result["content"]  # the person's feedback reached the model, and the data


def test_an_empty_selection_writes_nothing(sessions, tmp_path):
    with pytest.raises(EmptySelection, match="no session"):
        build(sessions_dir(), tmp_path / "none.jsonl", selection=Selection(tags=("gpu:h100",)))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_datasets_loads_it_and_a_chat_template_formats_a_row_with_its_tools(sessions, tmp_path, suffix):
    datasets = pytest.importorskip("datasets")
    from datasets import Features, Json, List, Value
    from transformers import AutoTokenizer

    path = tmp_path / f"sft.{suffix}"
    assert main(["sft", "build", "--sessions", str(sessions_dir()), "--out", str(path)]) == 0
    if suffix == "parquet":
        dataset = datasets.load_dataset("parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "c"))
    else:  # the features the pushed card declares for JSONL
        features = Features({"session_id": Value("string"), "session_name": Value("string"), "turn": Value("int64"),
                             "model": Value("string"), "timestamp": Value("string"),
                             "turn_outcome": Value("string"), "tags": List(Value("string")),
                             "messages": List(Json()), "tools": List(Json())})
        dataset = datasets.load_dataset("json", data_files=str(path), split="train", features=features,
                                        cache_dir=str(tmp_path / "c"))
    assert dataset.num_rows == 5  # 3 turns of the training session, 2 of the denied one; the error one said nothing
    row = next(r for r in dataset if r["turn"] == 3)
    assert row["messages"][6]["tool_calls"][0]["function"]["arguments"] == {"script": "trainer.train()"}
    assert "tool_calls" not in row["messages"][1]  # each message keeps only its own keys
    tokenizer = AutoTokenizer.from_pretrained(FIXTURES / "tiny_tokenizer")
    text = tokenizer.apply_chat_template(row["messages"], tools=row["tools"], tokenize=False)
    assert '<tool_call>{"name": "launch", "arguments": {"script": "trainer.train()"}}</tool_call>' in text
    assert "<|im_start|>tool launch" in text and '"name": "hf_jobs"' in text
    assert len(tokenizer(text)["input_ids"]) > 100


def test_push_to_a_private_dataset_with_a_card(sessions, tmp_path, fake_hub):
    result = build(sessions_dir(), tmp_path / "sft.jsonl", selection=Selection(min_outcome="done"))
    api = HfApi(endpoint=fake_hub.url, token=fake_hub.token)
    uri = push(result, "fake-user/sft", api=api)
    repo = fake_hub.repo("fake-user/sft", "dataset")
    assert repo.private and uri == "hf://datasets/fake-user/sft/data/train.jsonl"
    assert repo.read("data/train.jsonl") == result.path.read_bytes()
    card = repo.read("README.md").decode()
    assert "selection: outcome at least done" in card and "| `model:scripted` | 2 |" in card
    assert "- name: messages\n    list: json" in card and "path: data/train.jsonl" in card
    fake_hub.add_repo("fake-user/public-sft", repo_type="dataset", private=False)
    with pytest.raises(PushRefused, match="public"):
        push(result, "fake-user/public-sft", api=api)


def test_the_command_pushes_through_hf_endpoint_to_a_private_dataset(sessions, tmp_path, fake_hub):
    import os
    import subprocess
    import sys

    env = dict(os.environ, HF_ENDPOINT=fake_hub.url, HF_TOKEN=fake_hub.token, HF_HUB_CACHE=str(tmp_path / "c"))
    out = tmp_path / "sft.parquet"
    proc = subprocess.run([str(Path(sys.executable).with_name("mlintern")), "sft", "build", "--out", str(out),
                           "--exclude", "denied", "--push", "fake-user/ml-intern-sft"], env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "wrote 3 rows from 2 of 3 sessions" in proc.stdout
    assert "pushed to hf://datasets/fake-user/ml-intern-sft/data/train.parquet" in proc.stdout
    repo = fake_hub.repo("fake-user/ml-intern-sft", "dataset")
    assert repo.private and repo.read("data/train.parquet") == out.read_bytes()
    card = repo.read("README.md").decode()
    assert "selection: excluding denied" in card and "rows: 3 (one per turn), from 2 of 3 sessions" in card
    assert fake_hub.token not in card
