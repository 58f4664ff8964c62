"""Trace upload against the loopback Hub, through the real huggingface_hub client."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import time

import pytest
import yaml
from huggingface_hub import HfApi

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.models.offline import ScriptedModel
from mlintern_jupyter.agent.redact import RedactionError, Redactor
from mlintern_jupyter.agent.session import Session, SessionConfig
from mlintern_jupyter.agent.trace_repo import TraceUploadRefused
from mlintern_jupyter.agent.upload import TraceUploader, set_traces, upload_session
from mlintern_jupyter.agent.upload_consent import CONSENT_CALL
from mlintern_jupyter.tools.registry import ToolRegistry

REPO = "fake-user/ml-intern-sessions"
PASTED = "hf_PastedTokenAbcdefghijklmnopqrstuvwx12"


@pytest.fixture
def new_session(fake_hub, monkeypatch):
    """A factory of sessions on a scripted model, closed after the test."""
    # The uploader's token is a known secret: it must never show up in what is uploaded.
    monkeypatch.setenv("HF_TOKEN", fake_hub.token)
    opened: list[Session] = []

    def make(answers=("Done: the dataset has 50,000 rows.",)) -> Session:
        session = Session(SessionConfig(model="scripted"), ToolRegistry(), model=ScriptedModel(list(answers)))
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()


def run_turn(session: Session, prompt: str) -> ev.TurnEnded:
    return asyncio.run(session.run_turn(prompt))


def uploader_for(session, fake_hub, consented: bool = True, **kwargs) -> TraceUploader:
    """An uploader on the fake Hub; `consented`: this machine already said yes to the first-upload card."""
    api = HfApi(endpoint=fake_hub.url, token=fake_hub.token)
    uploader = TraceUploader(session, api=api, **kwargs)
    if consented:
        uploader.consent.record(uploader.repo_template, True, REPO)
    return uploader


def commits(fake_hub) -> list:
    return fake_hub.requests.find(route="repos.commit")


def test_upload_now_creates_private_dataset_with_card_and_redacted_trace(fake_hub, new_session, caplog):
    session = new_session()
    run_turn(session, f"inspect imdb; my other token is {PASTED} and the hub one is {fake_hub.token}")
    uploader = uploader_for(session, fake_hub, on_turn_end=False)
    caplog.set_level(logging.DEBUG)

    uri = uploader.upload_now()

    path = f"sessions/{session.events[0].ts[:10]}/{session.id}.jsonl"
    assert uri == f"hf://datasets/{REPO}/{path}"
    repo = fake_hub.repo(REPO, "dataset")
    assert repo.private is True
    create = fake_hub.requests.find(route="repos.create")[0].json()
    assert create["type"] == "dataset" and (create.get("visibility") == "private" or create.get("private") is True)
    card = repo.read("README.md").decode()
    front = yaml.safe_load(card.split("---")[1])
    assert {"agent-trace", "ml-intern", "claude-code-jsonl"} <= set(front["tags"])
    # The Hub's dataset viewer finds the traces through configs/data_files; the pattern matches the path below.
    (config,) = front["configs"]
    assert config["config_name"] == "default"
    assert fnmatch.fnmatch(f"sessions/{session.events[0].ts[:10]}/{session.id}.jsonl", config["data_files"][0]["path"])
    assert "](https://github.com/)" not in card
    body = repo.read(path).decode()
    records = [json.loads(line) for line in body.splitlines()]
    assert [r["type"] for r in records] == ["user", "assistant"]
    assert records[0]["sessionId"] == session.id
    for secret in (PASTED, fake_hub.token):
        assert secret not in body
        assert all(secret not in r.text for r in fake_hub.requests if r.route != "whoami")
        assert secret not in caplog.text
        assert secret not in (session.dir / "upload_state.json").read_text()
    assert "[REDACTED:" in body
    assert not uploader.pending and uploader.last_error is None


def test_upload_is_idempotent_and_overwrites_the_same_path(fake_hub, new_session):
    session = new_session(answers=("first answer", "second answer"))
    uploader = uploader_for(session, fake_hub, on_turn_end=False)
    run_turn(session, "one")
    first = uploader.upload_now()
    run_turn(session, "two")
    second = uploader.upload_now()
    third = uploader.upload_now()  # nothing changed: still fine

    assert first == second == third
    repo = fake_hub.repo(REPO, "dataset")
    traces = [p for p in repo.files() if p.startswith("sessions/") and p.endswith(".jsonl")]
    assert traces == [first.split(f"{REPO}/", 1)[1]]
    lines = repo.read(traces[0]).decode().splitlines()
    assert len(lines) == 4 and "second answer" in lines[-1]
    # The card was written once, not once per upload (its tags section changes only when the tags do).
    card_commits = [c for c in commits(fake_hub) if b'"README.md"' in c.body]
    assert len(card_commits) == 1


def test_public_repo_refused_unless_public_was_chosen(fake_hub, new_session):
    fake_hub.add_repo(REPO, repo_type="dataset", private=False)
    session = new_session()
    run_turn(session, "hello")
    uploader = uploader_for(session, fake_hub, on_turn_end=False)

    with pytest.raises(TraceUploadRefused, match="public"):
        uploader.upload_now()
    assert commits(fake_hub) == []
    assert "public" in uploader.last_error
    notices = [e for e in session.events if isinstance(e, ev.Notice)]
    assert notices and "public" in notices[-1].message

    uploader.set_mode("public")
    uri = uploader.upload_now()
    assert len(commits(fake_hub)) == 1 and uri.endswith(f"{session.id}.jsonl")


def test_private_mode_never_makes_a_new_repo_public_and_public_mode_creates_public(fake_hub, new_session):
    session = new_session()
    run_turn(session, "hello")
    uploader_for(session, fake_hub, on_turn_end=False, mode="public",
                 repo_template="{hf_user}/public-traces").upload_now()
    assert fake_hub.repo("fake-user/public-traces", "dataset").private is False
    uploader_for(session, fake_hub, on_turn_end=False, repo_template="fake-org/team-traces").upload_now()
    assert fake_hub.repo("fake-org/team-traces", "dataset").private is True


def test_turn_end_schedules_one_debounced_background_upload(fake_hub, new_session):
    session = new_session(answers=("a", "b", "c"))
    uploader = uploader_for(session, fake_hub, debounce_s=0.3)
    # A slow Hub (the repo exists, its create answers 409 after half a second): turns must not wait for it.
    fake_hub.add_repo(REPO, repo_type="dataset", private=True)
    fake_hub.fail("repos.create", 409, delay=0.5, body={"error": "You already created this dataset repo",
                                                       "url": f"{fake_hub.url}/datasets/{REPO}"})
    started = time.monotonic()
    for prompt in ("one", "two", "three"):
        run_turn(session, prompt)
    assert time.monotonic() - started < 0.3, "turns waited for the upload"
    assert commits(fake_hub) == [] and uploader.pending

    assert uploader.flush(timeout=10)
    assert len(commits(fake_hub)) == 1
    body = fake_hub.repo(REPO, "dataset").read(uploader.path_in_repo()).decode()
    assert body.count('"type": "user"') == 3
    uploader.close()


def test_failures_stay_pending_and_retry_with_backoff(fake_hub, new_session):
    session = new_session()
    run_turn(session, "hello")
    fake_hub.fail("repos.commit", 403, times=2)
    uploader = uploader_for(session, fake_hub, on_turn_end=False, debounce_s=0.0, backoff_s=(0.05, 0.1))

    uploader.schedule()
    deadline = time.monotonic() + 10
    state: dict = {}
    while not state.get("last_error") and time.monotonic() < deadline:
        time.sleep(0.01)
        state = json.loads((session.dir / "upload_state.json").read_text())
    assert state["pending"] is True and "rights" in state["last_error"]

    assert uploader.flush(timeout=10)
    assert len(commits(fake_hub)) == 3  # two refused, the third went through
    assert json.loads((session.dir / "upload_state.json").read_text())["pending"] is False
    # One notice for the failure streak, not one per retry.
    assert sum(isinstance(e, ev.Notice) for e in session.events) == 1
    uploader.close()


def test_off_mode_uploads_nothing_by_itself(fake_hub, new_session):
    session = new_session(answers=("a", "b"))
    uploader = uploader_for(session, fake_hub, mode="off", debounce_s=0.0)
    run_turn(session, "one")
    time.sleep(0.2)
    assert len(fake_hub.requests) == 0 and not uploader.pending
    uploader.set_mode("private")
    run_turn(session, "two")
    assert uploader.flush(timeout=10)
    assert fake_hub.repo(REPO, "dataset").private is True
    uploader.close()


def test_redaction_failure_uploads_nothing(fake_hub, new_session):
    session = new_session()
    run_turn(session, "hello")

    class Broken(Redactor):
        def redact_obj(self, obj):
            raise RedactionError("broken on purpose")

    session.redactor = Broken()
    uploader = uploader_for(session, fake_hub, on_turn_end=False)
    with pytest.raises(RedactionError):
        uploader.upload_now()
    assert len(fake_hub.requests) == 0
    assert not (session.dir / "trace.jsonl").exists()
    assert uploader.last_error == "the redactor failed, so nothing was uploaded"


def test_token_comes_from_the_environment(fake_hub, new_session, monkeypatch):
    session = new_session()
    run_turn(session, "hello")
    uploader = TraceUploader(session, endpoint=fake_hub.url, on_turn_end=False)
    uploader.upload_now()
    assert all(r.authorization == f"Bearer {fake_hub.token}" for r in fake_hub.requests)

    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_TOKEN_PATH", str(session.dir / "no-token-here"))
    monkeypatch.setenv("HF_HOME", str(session.dir / "hf-home"))
    with pytest.raises(TraceUploadRefused, match="token"):
        TraceUploader(session, endpoint=fake_hub.url, on_turn_end=False).upload_now()


def test_refusals_are_not_retried_every_turn(fake_hub, new_session, monkeypatch):
    fake_hub.add_repo(REPO, repo_type="dataset", private=False)
    session = new_session(answers=("a", "b", "c"))
    uploader = uploader_for(session, fake_hub, debounce_s=0.0)
    run_turn(session, "one")
    uploader.flush(timeout=10)
    assert uploader.refused and "public" in uploader.refused
    run_turn(session, "two")
    run_turn(session, "three")
    time.sleep(0.2)
    assert commits(fake_hub) == [] and len(fake_hub.requests.find(route="repos.info")) == 1
    assert sum(isinstance(e, ev.Notice) for e in session.events) == 1
    assert uploader.pending  # still owed: a later choice or %intern upload sends it
    uploader.close()

    # Without any token, turns end quietly: no request, no warning per turn.
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(session.dir / "hf-home"))
    quiet = TraceUploader(session, endpoint=fake_hub.url, debounce_s=0.0)
    before = len(fake_hub.requests)
    run_turn(session, "four")
    time.sleep(0.1)
    assert len(fake_hub.requests) == before and sum(isinstance(e, ev.Notice) for e in session.events) == 1
    quiet.close()


def test_magic_hand_offs(fake_hub, new_session):
    session = new_session(answers=("a",))
    run_turn(session, "one")
    session.services.trace_uploader = uploader_for(session, fake_hub, on_turn_end=False)
    assert "private" in set_traces(session, None)
    assert "Unknown trace mode" in set_traces(session, "everyone")
    message = upload_session(session)
    assert message == f"Uploaded the trace to hf://datasets/{REPO}/{session.services.trace_uploader.path_in_repo()}"
    assert "PUBLIC" in set_traces(session, "public") and session.services.trace_uploader.mode == "public"
    fake_hub.fail("repos.info", 403)
    assert upload_session(session).startswith("Not uploaded: ")


def test_choosing_private_or_public_traces_is_this_machines_yes_and_off_is_not(fake_hub, new_session):
    session = new_session(answers=("a", "b"))
    uploader = uploader_for(session, fake_hub, consented=False, debounce_s=0.0)
    set_traces(session, "off")
    assert uploader.consent.answer(uploader.repo_template) is None
    set_traces(session, "private")
    assert uploader.consent.answer(uploader.repo_template) is True
    run_turn(session, "one")
    assert uploader.flush(timeout=10) and len(commits(fake_hub)) == 1
    assert not [e for e in session.events if isinstance(e, ev.ApprovalRequested)]  # the yes was the magic
    uploader.close()


def test_the_consent_card_waits_across_prompts(fake_hub, new_session):
    """The card is asked after the first turn; the person types the next prompt before answering. A new prompt
    supersedes the model's pending calls, never this card (it used to, so such a session never uploaded)."""
    session = new_session(answers=("a", "b"))
    uploader = uploader_for(session, fake_hub, consented=False, debounce_s=0.0)
    run_turn(session, "one")
    deadline = time.monotonic() + 10
    while not session.approvals.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    (card,) = session.approvals.pending()
    run_turn(session, "two")
    assert [r.nonce for r in session.approvals.pending()] == [card.nonce]
    assert not [e for e in session.events if isinstance(e, ev.ApprovalResolved)]
    assert session.approve(card.nonce)
    assert uploader.flush(timeout=10) and len(commits(fake_hub)) == 1
    uploader.close()


def test_without_this_machines_yes_turn_ends_ask_once_and_upload_nothing(fake_hub, new_session):
    session = new_session(answers=("a", "b", "c"))
    uploader = uploader_for(session, fake_hub, consented=False, debounce_s=0.0)
    run_turn(session, "one")
    run_turn(session, "two")
    deadline = time.monotonic() + 10
    while not session.approvals.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    (card,) = [e for e in session.events if isinstance(e, ev.ApprovalRequested)]  # asked once, not per turn
    assert card.call_id == CONSENT_CALL and f"PRIVATE dataset {REPO}" in card.reason and card.cost_usd == 0.0
    assert card.action["target"] == REPO and commits(fake_hub) == []
    assert session.approve(card.nonce)
    assert uploader.flush(timeout=10) and len(commits(fake_hub)) == 1
    assert uploader.consent.answer(uploader.repo_template) is True
    uploader.close()

    # A second session of the machine: no card; a person's no is kept the same way.
    other = new_session(answers=("x",))
    again = uploader_for(other, fake_hub, consented=False, debounce_s=0.0)
    run_turn(other, "three")
    assert again.flush(timeout=10) and len(commits(fake_hub)) == 2 and not other.approvals.pending()
    again.consent.record(again.repo_template, False)
    run_turn(other, "four")
    time.sleep(0.2)
    assert len(commits(fake_hub)) == 2 and again.pending
    again.close()
