"""Attacks 5, 6 and 9 of SECURITY.md, and the HF token opt-in, each performed through the real loop (scripted
model, the real tools, the loopback Hub; a real IPython shell for the magic).

5. "Approve for this session" binds the exact command shape its card shows, only for read-only programs: approving
   `CUDA_VISIBLE_DEVICES=0 python train.py`, `sed`, `find` or `python` lets no other command run without a card.
6. A job's script is resolved (workspace path, URL) to its bytes before the card; the approval's hash binds them and
   the launch sends exactly them, whatever an `edit` in the same batch, a changed URL or a restart does meanwhile.
9. `hf_jobs cancel` runs freely only for this session's jobs: the person's unrelated A100 job is cancelled in no mode
   without a person's click.
Token: HF jobs receive the person's HF token, so policy approves them only after `%intern allow hf-token-jobs`; every
card says "this job receives your HF token".
"""

# ruff: noqa: F811

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.allow_list import DENIED, SESSION_PROGRAMS, session_shape
from mlintern_jupyter.agent.approval import ApprovalRecord, classify
from mlintern_jupyter.agent.models import ScriptedModel
from mlintern_jupyter.agent.models.offline import response_from_item
from mlintern_jupyter.agent.policy import PolicyConfig, policy
from mlintern_jupyter.agent.session import Session
from mlintern_jupyter.agent.state import replay
from mlintern_jupyter.agent.tooling import SessionServices
from mlintern_jupyter.tools import ToolRegistry, ToolsConfig
from mlintern_jupyter.tools.jobs import make_hf_jobs
from mlintern_jupyter.tools.sandbox import sandbox_tools
from tests.fakes.fixtures import fake_hub  # noqa: F401
from tests.helpers import call
from tests.test_jupyter_magic import agent_of, ip  # noqa: F401
from tests.test_security_local import TOKEN as LOCAL_TOKEN
from tests.test_security_local import needs_bwrap, person_home  # noqa: F401
from tests.test_tools_support import of_kind, results, run, scripted_session

Decide = Callable[[ApprovalRecord], dict[str, Any] | None]


async def with_person(session: Session, prompt: str | None, decide: Decide) -> ev.TurnEnded:
    """Run a turn while a person answers each card as it appears (`decide` returns the answer, or None to wait)."""
    task = asyncio.ensure_future(session.run_turn(prompt))
    answered: set[str] = set()
    while not task.done():
        for record in session.approvals.pending():
            if record.nonce not in answered and (answer := decide(record)) is not None:
                answered.add(record.nonce)
                session.answer_approval(record.nonce, **answer)
        await asyncio.sleep(0.01)
    return await task


def batches(*calls: list[dict[str, Any]]) -> list[Any]:
    return [{"tool_calls": batch} for batch in calls] + ["done"]


def asked(session: Session) -> list[str]:
    return [e.call_id for e in of_kind(session, ev.ApprovalRequested)]


# ---- attack 5: approve for this session --------------------------------------------------------------------


def test_attack5_approving_a_prefixed_command_for_the_session_lets_nothing_else_through(tmp_path: Path) -> None:
    script = batches([call("bash", {"command": "CUDA_VISIBLE_DEVICES=0 python train.py"}, "train")],
                     [call("bash", {"command": "CUDA_VISIBLE_DEVICES=0 rm -rf precious"}, "rm")])
    session = scripted_session(tmp_path, sandbox_tools(), script, approve="ask")
    (session.workspace / "train.py").write_text("print('trained')\n")
    (session.workspace / "precious").mkdir()
    (session.workspace / "precious" / "data.txt").write_text("months of work")

    def person(record: ApprovalRecord) -> dict[str, Any]:
        if "rm -rf" in record.spec.command[0]:
            return {"decision": "deny", "feedback": "never"}
        # The card offers no "for this session" here; even a person (or a UI) asking for it approves this once.
        return {"decision": "approve", "for_session": True}

    assert run(with_person(session, "train", person)).reason == "done"
    assert asked(session) == ["train", "rm"]  # the rm got its own card
    assert (session.workspace / "precious" / "data.txt").read_text() == "months of work"
    assert session.state.bash_allow == set()
    assert [e.allow_shape for e in of_kind(session, ev.ApprovalResolved)] == [None, None]
    assert {r.call_id: r.status for r in results(session)} == {"train": "ok", "rm": "denied"}


@pytest.mark.parametrize(("approved", "attack", "victim"), [
    ("sed -n 1p notes.txt", "sed -f evil.sed notes.txt", "notes.txt"),
    ("find . -name notes.txt", "find . -delete", "notes.txt"),
    ("python train.py", "python new_file.py", "notes.txt"),
])
def test_attack5_programs_that_run_programs_or_delete_files_are_approved_once_only(
        tmp_path: Path, approved: str, attack: str, victim: str) -> None:
    session = scripted_session(tmp_path, sandbox_tools(), batches([call("bash", {"command": approved}, "ok")],
                                                                  [call("bash", {"command": attack}, "attack")]),
                               approve="ask")
    (session.workspace / "notes.txt").write_text("notes\n")
    (session.workspace / "train.py").write_text("print('fine')\n")
    (session.workspace / "evil.sed").write_text("1e rm -f notes.txt\n")
    (session.workspace / "new_file.py").write_text("import os\nos.remove('notes.txt')\n")

    def person(record: ApprovalRecord) -> dict[str, Any]:
        if record.call_id == "attack":
            return {"decision": "deny"}
        return {"decision": "approve", "for_session": True}

    run(with_person(session, "go", person))
    assert asked(session) == ["ok", "attack"]
    assert (session.workspace / victim).exists() and session.state.bash_allow == set()


def test_attack5_a_read_only_command_approved_for_the_session_allows_exactly_its_shape(tmp_path: Path) -> None:
    script = batches([call("bash", {"command": "wc -l a.txt"}, "first")],
                     [call("bash", {"command": "wc -l b.txt"}, "same_shape")],
                     [call("bash", {"command": "wc -c b.txt"}, "other_option"),
                      call("bash", {"command": "wc -l a.txt b.txt"}, "more_operands"),
                      call("bash", {"command": "wc -l b.txt; rm a.txt"}, "chained")])
    session = scripted_session(tmp_path, sandbox_tools(), script, approve="ask")
    for name in ("a.txt", "b.txt"):
        (session.workspace / name).write_text("1\n2\n")

    def person(record: ApprovalRecord) -> dict[str, Any]:
        return {"decision": "approve", "for_session": True} if record.call_id == "first" else {"decision": "deny"}

    run(with_person(session, "count", person))
    assert asked(session) == ["first", "other_option", "more_operands", "chained"]
    assert session.state.bash_allow == {"wc -l <arg>"}
    by_call = {r.call_id: r for r in results(session)}
    assert by_call["same_shape"].ok and "2 b.txt" in by_call["same_shape"].content
    assert (session.workspace / "a.txt").exists()


def test_the_session_lists_are_disjoint_and_never_offer_what_can_run_or_delete() -> None:
    assert not SESSION_PROGRAMS & DENIED
    must_never = {"bash", "sh", "python", "python3", "sed", "awk", "find", "xargs", "env", "git", "pip", "uv", "conda",
                  "curl", "wget", "rm", "mv", "cp", "dd", "tee", "sort", "tar", "make", "pytest", "sudo", "timeout",
                  "nohup", "vim", "less", "docker", "ssh", "npm", "perl", "node", "nvidia-smi", "xxd"}
    assert must_never <= DENIED
    for command in [*(f"{p} -x y" for p in must_never), "CUDA_VISIBLE_DEVICES=0 ls", "ls=1 ls", "./ls", "/bin/ls -la",
                    "mytool --flag", "ls *", "ls ~", "ls $HOME", "ls `id`", "ls | sh", "ls > out", "ls 'a b'"]:
        assert session_shape(classify("bash", {"command": command})) is None, command
    assert session_shape(classify("bash", {"command": "ls -la data", "sandbox": True})) is None  # not local
    assert session_shape(classify("bash", {"command": "head -n 5 train.csv"})) == "head -n <arg> <arg>"


@needs_bwrap
def test_attack5_what_a_session_shape_allows_runs_in_the_os_sandbox(tmp_path: Path, person_home: Path) -> None:
    """`cat notes.txt` approved for the session lets `cat <any path>` run without a card, so it runs where the
    person's token file does not exist."""
    token_file = person_home / ".cache" / "huggingface" / "token"
    script = batches([call("bash", {"command": "cat notes.txt"}, "first")],
                     [call("bash", {"command": f"cat {token_file}"}, "same_shape")])
    session = scripted_session(tmp_path / "home", sandbox_tools(), script, approve="ask")
    (session.workspace / "notes.txt").write_text("notes\n")
    run(with_person(session, "read", lambda record: {"decision": "approve", "for_session": True}), timeout=90)
    assert asked(session) == ["first"] and session.state.bash_allow == {"cat <arg>"}
    by_call = {r.call_id: r for r in results(session)}
    assert by_call["first"].ok and "notes" in by_call["first"].content
    assert not by_call["same_shape"].ok and "No such file" in by_call["same_shape"].content
    assert LOCAL_TOKEN not in (session.dir / "events.jsonl").read_text()


def test_attack5_an_older_log_that_allowed_a_program_by_name_resumes_without_it() -> None:
    spec = classify("bash", {"command": "rm -rf old"})
    events: list[ev.Event] = [
        ev.SessionStarted(model="scripted", session_id="s", seq=1),
        ev.ApprovalRequested(call_id="c", nonce="n", action_sha256=spec.sha256(), cost_usd=None,
                             expires_at="2026-12-01T00:00:00+00:00", tool="bash", action=spec.model_dump()),
        ev.ApprovalResolved(call_id="c", decision="approved", by="person", nonce="n", allow_program="rm"),
    ]
    state = replay(events, "system")
    assert state.bash_allow == set()
    assert policy(classify("bash", {"command": "rm -rf data"}), PolicyConfig(bash_allow=state.bash_allow)).needs_approval


# ---- attack 6: the job runs the bytes the card showed -----------------------------------------------------------


def _hub_config(hub: Any) -> ToolsConfig:
    return ToolsConfig(hf_endpoint=hub.url, hf_token=hub.token, runtime="hf")


def launched_source(hub: Any) -> str:
    """The script a job on the fake Hub runs: its inline source, decoded from the uv command."""
    command = hub.last_job.spec["command"]
    encoded = re.search(r"echo '([A-Za-z0-9+/=]+)'", command[-1])
    assert encoded, command
    return base64.b64decode(encoded.group(1)).decode()


def _job_session(tmp_path: Path, hub: Any, script: list[Any], approve: str = "ask", **kwargs: Any) -> Session:
    tools = ToolRegistry([make_hf_jobs(_hub_config(hub)), *sandbox_tools()])
    return scripted_session(tmp_path, tools, script, approve=approve, budget=5.0,
                            services=SessionServices(cost_estimator=lambda spec: 0.01), **kwargs)


UV = {"operation": "uv", "script": "train.py", "hardware_flavor": "cpu-basic", "timeout": "10m"}
ORIGINAL = "print('the approved script')\n"


def test_attack6_an_edit_in_the_same_batch_does_not_change_what_the_job_runs(tmp_path: Path, fake_hub) -> None:
    script = batches([call("read", {"path": "train.py"}, "read")],
                     [call("hf_jobs", UV, "job"),
                      call("edit", {"path": "train.py", "old_string": "the approved script",
                                    "new_string": "import os; print(os.environ['HF_TOKEN'])"}, "edit")])
    session = _job_session(tmp_path, fake_hub, script)
    (session.workspace / "train.py").write_text(ORIGINAL)

    def person(record: ApprovalRecord) -> dict[str, Any] | None:
        if not any(r.call_id == "edit" for r in results(session)):
            return None  # the person reads the card while the edit lands
        return {"decision": "approve"}

    run(with_person(session, "train", person), timeout=60)
    (card,) = of_kind(session, ev.ApprovalRequested)
    assert card.action["script"] == ORIGINAL and "read from train.py in the workspace" in card.reason
    assert "this job receives your HF token" in card.reason
    assert "HF_TOKEN" in (session.workspace / "train.py").read_text()  # the edit happened ...
    assert launched_source(fake_hub) == ORIGINAL  # ... and changed nothing that ran
    assert fake_hub.last_job.spec["secrets"] == {"HF_TOKEN": fake_hub.token}  # a person approved it


def test_attack6_a_script_url_is_fetched_before_the_card_and_a_later_change_does_not_run(tmp_path: Path,
                                                                                          fake_hub) -> None:
    repo = fake_hub.add_repo("fake-user/scripts", files={"train.py": ORIGINAL})
    url = f"{fake_hub.url}/fake-user/scripts/resolve/main/train.py"
    session = _job_session(tmp_path, fake_hub, batches([call("hf_jobs", {**UV, "script": url}, "job")]))

    def person(record: ApprovalRecord) -> dict[str, Any]:
        # Whoever controls the URL swaps the file after the card was shown.
        repo.branches["main"] = repo.commit(repo.branches["main"], {"train.py": b"print('swapped')\n"}, "swap")
        return {"decision": "approve"}

    run(with_person(session, "train", person), timeout=60)
    (card,) = of_kind(session, ev.ApprovalRequested)
    assert card.action["script"] == ORIGINAL and url in card.reason
    assert launched_source(fake_hub) == ORIGINAL and url not in str(fake_hub.last_job.spec["command"])


def test_attack6_an_answer_after_a_restart_runs_the_bytes_of_its_card(tmp_path: Path, fake_hub) -> None:
    session = _job_session(tmp_path, fake_hub, batches([call("hf_jobs", UV, "job")]))
    session.config.person_present = False
    (session.workspace / "train.py").write_text(ORIGINAL)
    assert run(session.run_turn("train")).reason == "awaiting_approval"
    (record,) = session.approvals.pending()
    (session.workspace / "train.py").write_text("print('changed while nobody looked')\n")
    session.close()
    tools = ToolRegistry([make_hf_jobs(_hub_config(fake_hub)), *sandbox_tools()])
    resumed = Session.resume(session.id, tools, home=tmp_path, model=ScriptedModel(["done"]),
                             services=SessionServices(cost_estimator=lambda spec: 0.01))
    assert resumed.approve(record.nonce)
    assert run(resumed.run_turn(None)).reason == "done"
    assert launched_source(fake_hub) == ORIGINAL
    resumed.close()


def test_attack6_a_missing_script_file_is_an_error_before_any_card(tmp_path: Path, fake_hub) -> None:
    session = _job_session(tmp_path, fake_hub, batches([call("hf_jobs", UV, "job")]))
    run(session.run_turn("train"))
    (result,) = results(session)
    assert not result.ok and "not a file in the workspace" in result.content
    assert not of_kind(session, ev.ApprovalRequested) and fake_hub.jobs == {}


# ---- the HF token: a person's approval, or the person's opt-in -------------------------------------------------


def test_auto_asks_a_person_for_a_job_that_receives_the_token_until_the_opt_in(tmp_path: Path, fake_hub) -> None:
    inline = {**UV, "script": "print('hello')\n"}
    session = _job_session(tmp_path, fake_hub, batches([call("hf_jobs", inline, "before")],
                                                       [call("hf_jobs", inline, "after")]), approve="auto")
    session.config.person_present = False
    assert run(session.run_turn("train")).reason == "awaiting_approval"
    (card,) = of_kind(session, ev.ApprovalRequested)
    assert "this job receives your HF token" in card.reason and "%intern allow hf-token-jobs" in card.reason
    assert fake_hub.jobs == {}
    session.allow_hf_token_jobs()
    assert run(session.run_turn("train, you may")).reason == "done"
    resolved = of_kind(session, ev.ApprovalResolved)
    assert [(e.call_id, e.decision, e.by) for e in resolved] == [("before", "superseded", "person"),
                                                                 ("after", "approved", "policy")]
    assert fake_hub.last_job.spec["secrets"] == {"HF_TOKEN": fake_hub.token}
    assert "this job receives your HF token" in of_kind(session, ev.ApprovalRequested)[-1].reason
    session.close()
    resumed = Session.resume(session.id, ToolRegistry(), home=tmp_path, model=ScriptedModel([]))
    assert resumed.state.hf_token_jobs and resumed.policy_config().hf_token_jobs  # a fold of the log
    resumed.close()


def test_commands_in_the_gpu_sandbox_are_token_bearing_too() -> None:
    from mlintern_jupyter.agent.policy import PolicyConfig, policy

    spec = classify("bash", {"command": "env", "sandbox": True})
    before = policy(spec, PolicyConfig())
    assert before.person_in_auto and not before.auto_allowed and "can read your HF token" in before.reason
    assert policy(spec, PolicyConfig(hf_token_jobs=True)).auto_allowed


def test_the_allow_magic_records_the_opt_in_for_the_session(ip, tmp_path: Path, capsys) -> None:
    agent = agent_of(ip)
    ip.run_line_magic("intern", "allow hf-token-jobs")
    assert "No session yet" in capsys.readouterr().out
    model = tmp_path / "m.json"
    model.write_text('["hello"]')
    ip.run_cell_magic("intern", f"--model scripted:{model} --wait", "hi")
    ip.run_line_magic("intern", "allow")
    assert "needs your approval" in capsys.readouterr().out
    ip.run_line_magic("intern", "allow hf-token-jobs")
    assert "may be approved by policy" in capsys.readouterr().out
    assert agent.session.state.hf_token_jobs
    ip.run_line_magic("intern", "allow hf-token-jobs off")
    allowed = [e.allowed for e in agent.session.events if isinstance(e, ev.HfTokenJobsAllowed)]
    assert allowed == [True, False] and not agent.session.state.hf_token_jobs


# ---- attack 9: cancel only what this session launched ------------------------------------------------------------


@pytest.fixture
def someone_elses_job(fake_hub) -> str:
    """The person's own unrelated A100 training run, started outside this session."""
    from huggingface_hub import HfApi

    fake_hub.next_job(["epoch 1"], hold=True)
    info = HfApi(endpoint=fake_hub.url, token=fake_hub.token).run_job(image="python:3.12", command=["python", "t.py"],
                                                                       flavor="a100-large")
    return str(info.id)


@pytest.mark.parametrize("mode", ["ask", "auto", "deny"])
def test_attack9_the_persons_unrelated_job_is_not_cancelled_without_a_click(tmp_path: Path, fake_hub,
                                                                           someone_elses_job: str, mode: str) -> None:
    script = batches([call("hf_jobs", {"operation": "cancel", "job_id": someone_elses_job}, "cancel")])
    session = _job_session(tmp_path, fake_hub, script, approve=mode)
    if mode == "auto":
        session.allow_hf_token_jobs()  # even with every opt-in there is: cancelling another job is a person's call
        session.config.person_present = False
        assert run(session.run_turn("clean up")).reason == "awaiting_approval"
    else:
        run(with_person(session, "clean up", lambda record: {"decision": "deny"}))
    assert fake_hub.jobs[someone_elses_job].stage() == "RUNNING"
    assert not fake_hub.requests.find(route="jobs.cancel")
    if mode != "deny":
        (card,) = of_kind(session, ev.ApprovalRequested)
        assert "which this session did not launch" in card.reason


def test_attack9_the_sessions_own_job_is_cancelled_without_a_card(tmp_path: Path, fake_hub) -> None:
    fake_hub.next_job(["step 1"], hold=True)
    inline = {**UV, "script": "print('x')\n"}
    session = _job_session(tmp_path, fake_hub, batches([call("hf_jobs", inline, "launch")]), approve="auto")
    session.allow_hf_token_jobs()
    run(session.run_turn("train"))
    job_id = fake_hub.last_job.id
    session.model.responses += [response_from_item(item) for item in batches(
        [call("hf_jobs", {"operation": "cancel", "job_id": job_id}, "stop")])]
    session.set_approve_mode("deny")
    run(session.run_turn("stop it"))
    assert asked(session) == ["launch"]  # no card for cancelling its own job, even in deny
    assert fake_hub.jobs[job_id].stage() == "CANCELED"
