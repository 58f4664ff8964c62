"""bash, read, write, edit in the workspace; the sandbox server on loopback; sandbox_create on the fake Hub."""

# ruff: noqa: F811

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time

import httpx

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.tooling import SessionServices
from mlintern_jupyter.tools.config import ToolsConfig
from mlintern_jupyter.tools.jobs.local import pid_alive
from mlintern_jupyter.tools.sandbox import sandbox_tools
from mlintern_jupyter.tools.sandbox_remote import SandboxClient, make_sandbox_create
from tests.fakes.fixtures import fake_hub  # noqa: F401
from tests.test_tools_support import Collector, call, of_kind, outcome, results, run, scripted_session

TOOLS = {t.name: t for t in sandbox_tools()}


def test_read_write_edit_in_workspace(tmp_path):
    col = Collector(tmp_path / "ws")
    ws = tmp_path / "ws"
    (ws / "big.log").write_text("".join(f"line {i}\n" for i in range(1_500_000)))  # ~17 MB
    (ws / "blob.bin").write_bytes(b"\x00\x01" * 1000)
    (ws / "notes.md").write_text("alpha\nbeta\nbeta\n")
    os.symlink("/etc/passwd", ws / "escape")

    async def go():
        out = {}
        out["created"] = await outcome(TOOLS["write"], col.ctx, path="sub/train.py", content="print('hi')\n")
        out["clobber"] = await outcome(TOOLS["write"], col.ctx, path="notes.md", content="gone")
        out["edit_unread"] = await outcome(TOOLS["edit"], col.ctx, path="notes.md", old_string="alpha",
                                           new_string="A")
        out["read"] = await outcome(TOOLS["read"], col.ctx, path="notes.md")
        out["ambiguous"] = await outcome(TOOLS["edit"], col.ctx, path="notes.md", old_string="beta", new_string="B")
        out["edited"] = await outcome(TOOLS["edit"], col.ctx, path="notes.md", old_string="beta", new_string="B",
                                      replace_all=True)
        out["overwrite"] = await outcome(TOOLS["write"], col.ctx, path="notes.md", content="new\n")
        out["dotdot"] = await outcome(TOOLS["read"], col.ctx, path="../outside.txt")
        out["absolute"] = await outcome(TOOLS["write"], col.ctx, path="/tmp/t5_escape.txt", content="x")
        out["symlink"] = await outcome(TOOLS["read"], col.ctx, path="escape")
        out["binary"] = await outcome(TOOLS["read"], col.ctx, path="blob.bin")
        started = time.monotonic()
        out["big"] = await outcome(TOOLS["read"], col.ctx, path="big.log", offset=1_000_000, limit=3)
        out["big_s"] = time.monotonic() - started
        out["missing"] = await outcome(TOOLS["read"], col.ctx, path="nope.txt")
        return out

    out = run(go())
    assert out["created"].startswith("Created") and (tmp_path / "ws/sub/train.py").read_text() == "print('hi')\n"
    assert "has not been read" in out["clobber"] and "has not been read" in out["edit_unread"]
    assert "alpha" in out["read"] and "occurs 2 times" in out["ambiguous"]
    assert "2 replacement" in out["edited"] and out["overwrite"].startswith("Overwrote")
    assert (tmp_path / "ws/notes.md").read_text() == "new\n"
    for key in ("dotdot", "absolute", "symlink"):
        assert "outside the workspace" in out[key], key
    assert not os.path.exists("/tmp/t5_escape.txt")
    assert "binary file" in out["binary"]
    assert "line 1000000" in out["big"] and "of 1500000" in out["big"] and len(out["big"]) < 500
    assert "does not exist" in out["missing"]
    assert not [p for p in (tmp_path / "ws").rglob(".*") if p.is_file()]  # no temp files left by atomic writes


def test_bash_output_timeout_and_cancel(tmp_path):
    col = Collector(tmp_path / "ws")
    # Approved by a person: unsandboxed, so the pids the child prints are this machine's (the sandboxed kill is
    # tested in test_security_sandbox.py).
    col.ctx.approved_by = "person"

    async def go():
        ok = await TOOLS["bash"].run(TOOLS["bash"].validate({"command": "echo hi; pwd; exit 0"}), col.ctx)
        fail = await TOOLS["bash"].run(TOOLS["bash"].validate({"command": "echo bad >&2; exit 4"}), col.ctx)
        flood = await TOOLS["bash"].run(TOOLS["bash"].validate(
            {"command": "python3 -c \"print('x' * 1_000_000)\""}), col.ctx)
        started = time.monotonic()
        slow = await TOOLS["bash"].run(TOOLS["bash"].validate({"command": "sleep 30", "timeout": 1}), col.ctx)
        took = time.monotonic() - started
        # cancelling the call (the user stops the run) kills the whole process group
        task = asyncio.ensure_future(TOOLS["bash"].run(TOOLS["bash"].validate(
            {"command": "sleep 60 & echo child $!; wait"}), col.ctx))
        for _ in range(100):
            if "child" in "".join(e.text for e in col.events if isinstance(e, ev.ToolOutput)):
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        text = "".join(e.text for e in col.events if isinstance(e, ev.ToolOutput))
        child = int(text.split("child ")[1].split()[0])
        await asyncio.sleep(0.3)
        return ok, fail, flood, slow, took, child

    ok, fail, flood, slow, took, child = run(go())
    assert ok.ok and "hi" in ok.content and str(tmp_path / "ws") in ok.content and "[exit code 0]" in ok.content
    assert not fail.ok and "bad" in fail.content and "[exit code 4]" in fail.content
    assert len(flood.content) < 30_000 and "characters of output cut" in flood.content
    assert not slow.ok and "timeout of 1s" in slow.content and took < 5
    assert not pid_alive(child)


def test_bash_asks_in_ask_mode_and_write_does_not(tmp_path):
    tools = sandbox_tools()
    script = [{"tool_calls": [{"id": "w", "name": "write", "arguments": {"path": "a.txt", "content": "A"}},
                              {"id": "b", "name": "bash", "arguments": {"command": "cat a.txt"}}]}]
    session = scripted_session(tmp_path, tools, script, approve="ask")
    session.config.person_present = False
    ended = run(session.run_turn("go"))
    assert ended.reason == "awaiting_approval"
    (requested,) = of_kind(session, ev.ApprovalRequested)
    assert requested.tool == "bash" and requested.action["command"] == ["cat a.txt"]
    (written,) = results(session)
    assert written.call_id == "w" and written.ok and (session.workspace / "a.txt").read_text() == "A"


def _start_server(tmp_path, token):
    env = {**os.environ, "SANDBOX_TOKEN": token}
    proc = subprocess.Popen([sys.executable, "-m", "mlintern_jupyter.tools.sandbox_server", "--host", "127.0.0.1",
                             "--port", "0", "--root", str(tmp_path / "root")], stdout=subprocess.PIPE, text=True,
                            env={**env, "PYTHONPATH": os.getcwd()})
    line = proc.stdout.readline()
    port = int(line.split("127.0.0.1:")[1].split(",")[0])
    return proc, f"http://127.0.0.1:{port}"


def test_sandbox_server_on_loopback(tmp_path):
    proc, url = _start_server(tmp_path, "sekret")
    try:
        assert httpx.get(url + "/health").status_code == 401
        assert httpx.get(url + "/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        client = SandboxClient(url, "sekret")

        async def go():
            wrote = await client.write("src/a.py", "print(6 * 7)\n")
            ran = await client.exec("python3 src/a.py && pwd")
            slow = await client.exec("sleep 20", timeout=1)
            read = await client.read("src/a.py")
            try:
                await client.read("../../etc/passwd")
                escaped = "no error"
            except Exception as exc:  # noqa: BLE001
                escaped = str(exc)
            return wrote, ran, slow, read, escaped

        wrote, ran, slow, read, escaped = run(go())
        assert wrote["ok"] and ran["exit_code"] == 0 and "42" in ran["output"]
        assert slow["timed_out"] and slow["exit_code"] is None
        assert read["content"] == "print(6 * 7)\n" and "403" in escaped
    finally:
        proc.terminate()
        proc.wait(5)


def test_sandbox_create_on_the_fake_hub(tmp_path, fake_hub):
    config = ToolsConfig(hf_endpoint=fake_hub.url, hf_token=fake_hub.token)
    tool = make_sandbox_create(config)
    session = scripted_session(tmp_path, [tool], [call("sandbox_create", {"hardware_flavor": "t4-small",
                                                                         "wait_s": 10}), "ok"],
                               approve="auto", budget=10.0, services=SessionServices(cost_estimator=lambda spec: 0.4))
    session.allow_hf_token_jobs()  # policy approves a Space that receives the token only after the opt-in
    run(session.run_turn("get me a GPU"))
    (result,) = results(session)
    assert result.ok, result.content
    (space,) = [r for (kind, _), r in fake_hub.repos.items() if kind == "space"]
    assert space.private and space.space["hardware"] == "t4-small"
    # Its own bearer token, and the HF token deliberately (the opt-in): commands there are told so.
    assert set(space.space["secrets"]) == {"SANDBOX_TOKEN", "HF_TOKEN"} and len(space.space["secrets"]["SANDBOX_TOKEN"]) > 20
    assert space.space["variables"] == {"SANDBOX_SHARE_HF": "1"} and "see your HF token" in result.content
    files = space.files()
    assert b"sandbox_server" in files["Dockerfile"] and b"SANDBOX_TOKEN" in files["sandbox_server.py"]
    assert fake_hub.token.encode() not in b"".join(files.values())
    assert session.services.sandbox.url.endswith(".hf.space") and "running" in result.content
    assert of_kind(session, ev.ApprovalRequested)[0].reason.startswith("starts a sandbox")

    # Approved by nobody with the right to give the token (no person, no opt-in): the Space gets none.
    col = Collector(tmp_path / "ws")
    col.ctx.hf_token_jobs = False
    out = run(outcome(tool, col.ctx, hardware_flavor="t4-small", wait_s=5))
    bare = [r for (kind, _), r in fake_hub.repos.items() if kind == "space" and r is not space][0]
    assert set(bare.space["secrets"]) == {"SANDBOX_TOKEN"} and bare.space["variables"] == {"SANDBOX_SHARE_HF": "0"}
    assert "has no HF token" in out


def test_sandbox_create_without_token_says_what_to_do(tmp_path):
    col = Collector(tmp_path / "ws")
    out = run(outcome(make_sandbox_create(ToolsConfig(hf_token="")), col.ctx))
    assert "needs an HF token" in out


def test_bash_read_write_run_inside_the_sandbox_when_asked(tmp_path):
    from mlintern_jupyter.tools.sandbox_remote import SandboxInfo

    proc, url = _start_server(tmp_path, "sekret")
    try:
        info = SandboxInfo("fake-user/mlintern-sandbox-1", url, "sekret", "t4-small")
        def step(*calls):
            return {"tool_calls": [{"id": f"c{len(steps)}_{n}", "name": name, "arguments": args}
                                   for n, (name, args) in enumerate(calls)]}

        steps: list = []
        for calls in ([("write", {"path": "train.py", "content": "print('on the gpu box')\n", "sandbox": True})],
                      [("bash", {"command": "python3 train.py", "sandbox": True})],
                      [("read", {"path": "train.py", "sandbox": True}), ("bash", {"command": "ls train.py"})]):
            steps.append(step(*calls))
        session = scripted_session(tmp_path / "home", sandbox_tools(), [*steps, "done"], services=SessionServices(sandbox=info))
        session.allow_hf_token_jobs()  # commands in the GPU sandbox can read the HF token: auto needs the opt-in
        run(session.run_turn("use the sandbox"))
        by_id = {r.call_id: r.content for r in results(session)}  # the last batch finishes in any order
        wrote, ran, read, local = by_id["c0_0"], by_id["c1_0"], by_id["c2_0"], by_id["c2_1"]
        assert "in the sandbox" in wrote and (tmp_path / "root" / "train.py").exists()
        assert "on the gpu box" in ran and "exit code 0 in the sandbox" in ran
        assert "print('on the gpu box')" in read
        assert "No such file" in local  # without sandbox=true, bash stays in the local workspace
        approved = [e for e in session.events if isinstance(e, ev.ApprovalRequested)]
        assert '"sandbox":true' in approved[0].action["arguments_json"]  # the card shows where it runs
    finally:
        proc.terminate()
        proc.wait(5)


def test_sandbox_flag_without_a_sandbox_says_what_to_do(tmp_path):
    session = scripted_session(tmp_path, sandbox_tools(),
                               [call("bash", {"command": "nvidia-smi", "sandbox": True}), "done"])
    session.allow_hf_token_jobs()
    run(session.run_turn("gpu?"))
    assert "start one with sandbox_create" in results(session)[0].content
