"""Attacks 3, 4 and 13 of SECURITY.md through the real loop (scripted model; a real IPython shell for 4).

3. Policy-approved local code runs in bubblewrap: no token file, no other process, a read-only system, no
   secret variables; where no sandbox can run, `auto` asks a person and says why; the GPU sandbox's commands do
   not see the Space's tokens. (The kernel-level version, with the kernel's own environment, is
   tests/reliability/test_secrets.py.)
4. `kernel_inspect` masks secrets, refuses os.environ and private names, and runs no user code.
13. `read` refuses a FIFO or a socket instead of blocking the loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.policy import PolicyConfig
from mlintern_jupyter.agent.tooling import SessionServices
from mlintern_jupyter.tools.os_sandbox import unavailable_reason
from mlintern_jupyter.tools.sandbox import sandbox_tools
from mlintern_jupyter.tools.sandbox_remote import SandboxInfo
from tests.helpers import call
from tests.test_jupyter_magic import agent_of, ip  # noqa: F401
from tests.test_tools_sandbox import _start_server
from tests.test_tools_support import of_kind, results, run, scripted_session

TOKEN = "hf_" + "SandboxProbeToken0123456789abcdef"
needs_bwrap = pytest.mark.skipif(unavailable_reason() is not None, reason=f"no bubblewrap: {unavailable_reason()}")


def _bash_session(tmp_path: Path, commands: list[str], approve: str = "auto", policy: PolicyConfig | None = None):
    script = [{"tool_calls": [call("bash", {"command": c, "timeout": 20}, f"c{i}") for i, c in enumerate(commands)]},
              "done"]
    return scripted_session(tmp_path / "home", sandbox_tools(), script, approve=approve, budget=1.0,
                            policy=policy or PolicyConfig())


@pytest.fixture
def person_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "person"
    (home / ".cache" / "huggingface").mkdir(parents=True)
    (home / ".cache" / "huggingface" / "token").write_text(TOKEN)
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("OTHER_API_KEY", "sk-other-secret-value-123456")
    monkeypatch.setenv("DB_PASS", "db-pass-secret-value")
    return home


@needs_bwrap
def test_attack3_policy_approved_bash_reaches_no_secret(tmp_path, person_home) -> None:
    marker = "31.4159"
    commands = [
        "cat ~/.cache/huggingface/token; cat ~/.ssh/id_ed25519; ls -a ~",
        "ls /proc | grep -cE '^[0-9]+$'",
        "env | sort",
        "touch /usr/mlintern-probe && echo wrote-system || echo system-read-only",
        "echo data > made-here.txt && cat made-here.txt",
        f"xxd -p {person_home}/.cache/huggingface/token; rev {person_home}/.cache/huggingface/token",
    ]
    session = _bash_session(tmp_path, commands)
    run(session.run_turn("probe"), timeout=90)
    out = {r.call_id: r.content for r in results(session)}
    everything = "\n".join(out.values())
    for secret in (TOKEN, TOKEN[::-1], TOKEN.encode().hex()[:40], "PRIVATE KEY", "sk-other-secret", "db-pass-secret"):
        assert secret not in everything, secret
    assert "No such file" in out["c0"]
    assert int(out["c1"].split()[0]) <= 4  # bwrap, bash, ls, grep: no other process is visible
    assert f"HOME={person_home}" in out["c2"] and "OTHER_API_KEY" not in out["c2"] and "DB_PASS" not in out["c2"]
    assert "system-read-only" in out["c3"] and not Path("/usr/mlintern-probe").exists()
    assert "data" in out["c4"] and (session.workspace / "made-here.txt").read_text() == "data\n"
    assert all(r.ok is False for r in results(session) if r.call_id == "c5")  # the files are not there

    # A timeout kills the whole sandbox, children included.
    script = [{"tool_calls": [call("bash", {"command": f"sleep {marker} & sleep {marker}", "timeout": 1})]}, "done"]
    timed = scripted_session(tmp_path / "t", sandbox_tools(), script, approve="auto", budget=1.0)
    run(timed.run_turn("sleep"), timeout=60)
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True).stdout
    assert left.strip() == "", left


def test_attack3_without_a_sandbox_auto_asks_and_says_why(tmp_path, person_home) -> None:
    policy = PolicyConfig(no_local_sandbox="bwrap cannot create namespaces here (test)")
    session = _bash_session(tmp_path, ["cat ~/.cache/huggingface/token"], policy=policy)
    session.config.person_present = False
    ended = run(session.run_turn("probe"))
    (card,) = of_kind(session, ev.ApprovalRequested)
    assert ended.reason == "awaiting_approval" and not results(session)
    assert "auto mode runs local code only inside the OS sandbox" in card.reason
    assert "bwrap cannot create namespaces here (test)" in card.reason

    # A person approves: it runs as it always did (the person's own command, with the person's environment).
    asked = _bash_session(tmp_path / "p", ["cat ~/.cache/huggingface/token"], policy=policy)

    async def approve_when_asked() -> None:
        task = asyncio.ensure_future(asked.run_turn("probe"))
        for _ in range(500):
            if asked.approvals.pending():
                break
            await asyncio.sleep(0.01)
        asked.answer_approval(asked.approvals.pending()[0].nonce, "approve")
        await asyncio.wait_for(task, 30)

    run(approve_when_asked())
    (result,) = results(asked)
    assert result.ok and "[REDACTED" in result.content  # it read the file; the redactor masked the value


def test_attack3_the_gpu_sandbox_commands_do_not_see_the_space_tokens(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # as a Space secret would be
    proc, url = _start_server(tmp_path, "sandbox-bearer-token-123456")
    try:
        command = "env; tr '\\0' '\\n' < /proc/$PPID/environ; tr '\\0' '\\n' < /proc/1/environ 2>/dev/null; true"
        script = [{"tool_calls": [call("bash", {"command": command, "sandbox": True})]}, "done"]
        session = scripted_session(tmp_path, sandbox_tools(), script, approve="auto", budget=1.0,
                                   services=SessionServices(sandbox=SandboxInfo(
                                       "me/sb", url, "sandbox-bearer-token-123456", "t4-small")))
        session.allow_hf_token_jobs()  # commands in the GPU sandbox are token-bearing code: auto needs the opt-in
        run(session.run_turn("probe"), timeout=60)
        (result,) = results(session)
        assert result.ok and "PATH=" in result.content
        assert TOKEN not in result.content and "sandbox-bearer-token" not in result.content
        assert "[REDACTED" not in result.content  # not masked afterwards: never there
    finally:
        proc.terminate()
        proc.wait(5)


def test_attack13_read_refuses_a_fifo_and_a_socket_without_blocking(tmp_path) -> None:
    script = [{"tool_calls": [call("read", {"path": "pipe"}, "p"), call("read", {"path": "sock"}, "s"),
                              call("read", {"path": "ok.txt"}, "o")]}, "done"]
    session = scripted_session(tmp_path, sandbox_tools(), script, approve="deny")
    os.mkfifo(session.workspace / "pipe")
    listener = socket.socket(socket.AF_UNIX)
    here = os.getcwd()
    os.chdir(session.workspace)  # a relative name: the full path is too long for AF_UNIX
    try:
        listener.bind("sock")
    finally:
        os.chdir(here)
    (session.workspace / "ok.txt").write_text("fine\n")
    try:
        started = time.monotonic()
        run(session.run_turn("read them"), timeout=20)
    finally:
        listener.close()
    by_id = {r.call_id: r for r in results(session)}
    assert time.monotonic() - started < 10
    assert not by_id["p"].ok and "named pipe" in by_id["p"].content
    assert not by_id["s"].ok and "socket" in by_id["s"].content
    assert by_id["o"].ok and "fine" in by_id["o"].content


def test_attack13_stop_lands_while_a_read_is_slow(tmp_path, monkeypatch) -> None:
    """The read runs off the event loop: cancelling the turn ends it at once even if the file system hangs."""
    import mlintern_jupyter.tools.sandbox as local

    slow = local._read_local

    def hanging(*args):
        time.sleep(3)
        return slow(*args)

    monkeypatch.setattr(local, "_read_local", hanging)
    script = [{"tool_calls": [call("read", {"path": "a.txt"})]}, "done"]
    session = scripted_session(tmp_path, sandbox_tools(), script, approve="deny")
    (session.workspace / "a.txt").write_text("x\n")

    async def go() -> float:
        task = asyncio.ensure_future(session.run_turn("read"))
        await asyncio.sleep(0.5)
        started = time.monotonic()
        session.cancel()
        end = await asyncio.wait_for(task, 10)
        assert end.reason == "cancelled"
        return time.monotonic() - started

    assert run(go()) < 1.5


def test_attack4_kernel_inspect_masks_secrets_and_runs_no_user_code(ip, tmp_path) -> None:  # noqa: F811
    ip.run_cell("import os\nos.environ['DB_PASS'] = 'env-db-pass-7Hq2xL9vR4'\n"
                "ran = []\nclass Lazy:\n    def __init__(self):\n        self.url = 'postgres://db'\n"
                "        self.api_key = '0123456789abcdef0123456789abcdef01234567'\n"
                "    @property\n    def shape(self):\n        ran.append('shape')\n        return (1,)\n"
                "    def __len__(self):\n        ran.append('len')\n        return 1\n"
                "    def __repr__(self):\n        ran.append('repr')\n        return 'Lazy()'\n"
                "    def head(self, n=5):\n        ran.append('head')\n"
                "lazy = Lazy()\nrows = [Lazy()]\n")
    ip.user_ns["db_password"] = "hunter2-correct-horse-battery"
    ip.user_ns["wandb_api"] = "0123456789abcdef0123456789abcdef01234567"
    ip.user_ns["cfg"] = {"host": "db.internal", "db_password": "hunter2-correct-horse-battery"}
    names = ["db_password", "wandb_api", "os.environ", "cfg", "lazy", "rows", "lazy.shape", "lazy._secret",
             "lazy.api_key", "os._Environ"]
    model = tmp_path / "inspect.json"
    model.write_text(json.dumps([{"tool_calls": [{"id": f"k{i}", "name": "kernel_inspect", "arguments": {"name": n}}
                                                 for i, n in enumerate(names)]}, "done"]))
    ip.run_cell_magic("intern", f"--model scripted:{model} --approve deny --wait", "look at my variables")
    session = agent_of(ip).session
    by_id = {e.call_id: e for e in session.events if e.kind == "tool_result"}
    text = "\n".join(r.content for r in by_id.values())
    for secret in ("hunter2-correct-horse", "0123456789abcdef0123", "env-db-pass"):
        assert secret not in text, secret
    assert "masked" in by_id["k0"].content and "masked" in by_id["k1"].content
    assert not by_id["k2"].ok and "os.environ" in by_id["k2"].content
    assert "db.internal" in by_id["k3"].content and "db_password" in by_id["k3"].content
    assert "Lazy" in by_id["k4"].content and "none of its methods" in by_id["k4"].content
    assert not by_id["k6"].ok and "computed attribute" in by_id["k6"].content
    assert not by_id["k7"].ok and "private" in by_id["k7"].content
    assert "masked" in by_id["k8"].content and not by_id["k9"].ok
    assert ip.user_ns["ran"] == []  # no property, __len__, __repr__ or head() of the user's class ran
    # The masked values are known to the redactor now: a job log repeating one is masked too.
    assert "hunter2" not in session.redactor.redact("log: hunter2-correct-horse-battery")
