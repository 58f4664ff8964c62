"""Tags travel with the uploaded trace: a sidecar per session, tags.json for all, and the card's tags section."""

from __future__ import annotations

import asyncio
import json

from huggingface_hub import CommitOperationAdd, HfApi

from mlintern_jupyter.agent.models.offline import ScriptedModel
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.agent.tags import session_tags
from mlintern_jupyter.agent.trace_tags import END, START
from mlintern_jupyter.agent.upload import TraceUploader
from mlintern_jupyter.tools.registry import ToolRegistry

REPO = "fake-user/ml-intern-sessions"


def uploaded_session(fake_hub, prompt: str) -> Session:
    session = Session(SessionConfig(model="scripted"), ToolRegistry(), model=ScriptedModel(["done"]))
    asyncio.run(session.run_turn(prompt))
    api = HfApi(endpoint=fake_hub.url, token=fake_hub.token)
    TraceUploader(session, api=api, on_turn_end=False).upload_now()
    return session


def test_two_sessions_their_sidecars_the_index_and_the_card_counts(fake_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", fake_hub.token)
    first = uploaded_session(fake_hub, "train a classifier")
    second = uploaded_session(fake_hub, "find papers on speculative decoding")
    repo = fake_hub.repo(REPO, "dataset")
    for session in (first, second):
        path = f"sessions/{session.events[0].ts[:10]}/{session.id}.tags.json"
        assert json.loads(repo.read(path)) == {"session_id": session.id, "tags": session_tags(session.events)}
    index = json.loads(repo.read("tags.json"))
    assert set(index) == {first.id, second.id}
    card = repo.read("README.md").decode()
    section = card[card.index(START):card.index(END)]
    assert "2 session(s)" in section
    assert "| `model:scripted` | 2 |" in section
    assert "| `task:training` | 1 |" in section and "| `task:research` | 1 |" in section
    for session in (first, second):
        session.close()


def test_the_persons_card_edits_are_kept_and_a_card_without_markers_is_left_alone(fake_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", fake_hub.token)
    first = uploaded_session(fake_hub, "train a classifier")
    api = HfApi(endpoint=fake_hub.url, token=fake_hub.token)
    repo = fake_hub.repo(REPO, "dataset")
    edited = repo.read("README.md").decode().replace("# ML Intern sessions", "# My own title")
    api.create_commit(REPO, [CommitOperationAdd("README.md", edited.encode())], repo_type="dataset",
                      commit_message="edit")
    second = uploaded_session(fake_hub, "evaluate it")
    card = repo.read("README.md").decode()
    assert "# My own title" in card and "| `task:evaluation` | 1 |" in card and "2 session(s)" in card

    api.create_commit(REPO, [CommitOperationAdd("README.md", b"# Mine, no markers\n")], repo_type="dataset",
                      commit_message="rewrite")
    third = uploaded_session(fake_hub, "serve it")
    assert repo.read("README.md") == b"# Mine, no markers\n"
    assert len(json.loads(repo.read("tags.json"))) == 3  # the index still grows
    for session in (first, second, third):
        session.close()
