"""Attack 8 of SECURITY.md, writes and uploads, performed through the real loop against the loopback Hub (and a
real IPython shell for the trace upload's card).

- Under `auto`, `hf_repo_files upload` into an existing public repo was approved by policy; chained with a copy of
  the token file, the token was published. A write into a public repo (or one whose visibility the Hub did not
  tell) is now never approved by policy, and its card says PUBLIC.
- The trace uploader started by itself whenever a token existed. The first upload of a machine now waits for a
  person's yes to a card naming the private dataset, asked once.
"""

# ruff: noqa: F811

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.session import Session
from mlintern_jupyter.agent.upload_consent import CONSENT_CALL, CONSENT_FILE
from mlintern_jupyter.tools import ToolRegistry, ToolsConfig
from mlintern_jupyter.tools.hub_repos import make_hub_repo_tools
from mlintern_jupyter.tools.sandbox import sandbox_tools
from tests.fakes.fixtures import fake_hub, fake_hub_env  # noqa: F401
from tests.helpers import call
from tests.test_jupyter_magic import agent_of, ip  # noqa: F401
from tests.test_security_approvals import batches, with_person
from tests.test_tools_support import of_kind, results, run, scripted_session

PUBLIC = "fake-user/public-model"
PRIVATE = "fake-user/private-model"


def repo_session(tmp_path: Path, hub: Any, script: list[Any], approve: str) -> Session:
    config = ToolsConfig(hf_endpoint=hub.url, hf_token=hub.token)
    return scripted_session(tmp_path, ToolRegistry([*make_hub_repo_tools(config), *sandbox_tools()]), script,
                            approve=approve)


def upload(repo_id: str, call_id: str, **extra: Any) -> dict[str, Any]:
    return call("hf_repo_files", {"operation": "upload", "repo_id": repo_id, "path": "notes.txt", **extra}, call_id)


def commits(hub: Any, repo_id: str) -> int:
    return len(hub.repo(repo_id).commits)


@pytest.fixture
def repos(fake_hub) -> Any:
    fake_hub.add_repo(PUBLIC, private=False, files={"README.md": "a model"})
    fake_hub.add_repo(PRIVATE, private=True, files={"README.md": "mine"})
    return fake_hub


def test_attack8_auto_never_publishes_into_a_public_repo_and_the_card_says_public(tmp_path: Path, repos) -> None:
    # The chain of the attack: copy the token file into the workspace, then publish it.
    script = batches([call("bash", {"command": "cp ~/.cache/huggingface/token leak.txt; cat leak.txt"}, "copy")],
                     [upload(PUBLIC, "publish", local_path="leak.txt"), upload(PRIVATE, "mine", content="notes")])
    session = repo_session(tmp_path, repos, script, approve="auto")
    session.config.person_present = False
    assert run(session.run_turn("share the notes")).reason == "awaiting_approval"
    cards = {e.call_id: e for e in of_kind(session, ev.ApprovalRequested)}
    assert "PUBLIC" in cards["publish"].reason and cards["publish"].action["visibility"] == "public"
    assert cards["mine"].action["visibility"] == "private"
    resolved = {e.call_id: (e.decision, e.by) for e in of_kind(session, ev.ApprovalResolved)}
    assert resolved.get("mine") == ("approved", "policy") and "publish" not in resolved  # waits for a person
    assert commits(repos, PUBLIC) == 1 and commits(repos, PRIVATE) == 2


@pytest.mark.parametrize("mode", ["ask", "deny"])
def test_attack8_a_public_write_waits_for_a_click_in_ask_and_is_refused_in_deny(tmp_path: Path, repos,
                                                                               mode: str) -> None:
    session = repo_session(tmp_path, repos, batches([upload(PUBLIC, "publish", content="hf_leaked")]), approve=mode)
    run(with_person(session, "share", lambda record: {"decision": "deny"}))
    assert commits(repos, PUBLIC) == 1 and results(session)[0].status == "denied"
    if mode == "ask":
        assert "PUBLIC" in of_kind(session, ev.ApprovalRequested)[0].reason


def test_attack8_a_repo_whose_visibility_the_hub_does_not_tell_is_treated_as_public(tmp_path: Path, repos) -> None:
    repos.fail("repos.info", 500)
    script = batches([upload(PRIVATE, "mine", content="notes"),
                      call("hf_repo_git", {"operation": "create_branch", "repo_id": PRIVATE, "branch": "x"}, "git")])
    session = repo_session(tmp_path, repos, script, approve="auto")
    session.config.person_present = False
    assert run(session.run_turn("share")).reason == "awaiting_approval"
    for card in of_kind(session, ev.ApprovalRequested):
        assert card.action["visibility"] == "unknown" and "treated as PUBLIC" in card.reason
    assert not of_kind(session, ev.ApprovalResolved) and commits(repos, PRIVATE) == 1


def test_attack8_git_writes_on_a_public_repo_are_never_approved_by_policy(tmp_path: Path, repos) -> None:
    script = batches([call("hf_repo_git", {"operation": "create_pr", "repo_id": PUBLIC, "title": "hf_token inside"},
                           "pr"),
                      call("hf_repo_git", {"operation": "create_tag", "repo_id": PUBLIC, "tag": "v1"}, "tag")])
    session = repo_session(tmp_path, repos, script, approve="auto")
    session.config.person_present = False
    run(session.run_turn("publish"))
    assert {e.call_id for e in of_kind(session, ev.ApprovalRequested)} == {"pr", "tag"}
    assert not of_kind(session, ev.ApprovalResolved) and repos.repo(PUBLIC).discussions == []


# ---- the first trace upload of a machine ----------------------------------------------------------------------


def _wait(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert predicate()


def _trace_commits(hub: Any) -> list[Any]:
    return hub.requests.find("POST", "/api/datasets/*/commit/*")


def first_turn_and_its_trace_card(ip: Any, model: Path) -> ev.ApprovalRequested:
    """A first session's turn on a machine that never answered: the trace card it shows (once in the view)."""
    agent = agent_of(ip)
    model.write_text('["hello"]')
    ip.run_cell_magic("intern", f"--model scripted:{model} --wait", "hi")
    _wait(lambda: any(e.call_id == CONSENT_CALL for e in of_kind(agent.session, ev.ApprovalRequested)))
    (card,) = [e for e in of_kind(agent.session, ev.ApprovalRequested) if e.call_id == CONSENT_CALL]
    _wait(lambda: card.nonce in agent.view.approvals)  # the card reaches the view after the log
    return card


def test_attack8_the_first_trace_upload_asks_once_naming_the_private_dataset(fake_hub_env, ip, tmp_path: Path,
                                                                            monkeypatch) -> None:
    hub = fake_hub_env
    agent = agent_of(ip)
    model = tmp_path / "m.json"
    card_event = first_turn_and_its_trace_card(ip, model)
    assert "PRIVATE dataset fake-user/ml-intern-sessions" in card_event.reason
    time.sleep(0.3)
    assert _trace_commits(hub) == []  # nothing went up by itself
    card = agent.view.approvals[card_event.nonce]
    card.approve_button.click()
    _wait(lambda: len(_trace_commits(hub)) == 1)
    assert hub.repo("fake-user/ml-intern-sessions", "dataset").private
    home = agent.session.dir.parent.parent
    consent = json.loads((home / CONSENT_FILE).read_text())
    assert next(iter(consent.values()))["allowed"] is True

    # A new session on the same machine: no card, the upload follows the turn.
    model.write_text('["second session"]')
    ip.run_cell_magic("intern", f"--new --model scripted:{model} --wait", "hi again")
    _wait(lambda: len(_trace_commits(hub)) == 2)
    assert not [e for e in of_kind(agent.session, ev.ApprovalRequested) if e.call_id == CONSENT_CALL]


def test_attack8_a_no_to_the_trace_card_is_kept_for_the_machine(fake_hub_env, ip, tmp_path: Path) -> None:
    hub = fake_hub_env
    agent = agent_of(ip)
    model = tmp_path / "m.json"
    card_event = first_turn_and_its_trace_card(ip, model)
    agent.view.approvals[card_event.nonce].deny_button.click()
    ip.run_cell_magic("intern", f"--new --model scripted:{model} --wait", "hi again")
    time.sleep(0.5)
    assert _trace_commits(hub) == []
    assert not [e for e in of_kind(agent.session, ev.ApprovalRequested) if e.call_id == CONSENT_CALL]
