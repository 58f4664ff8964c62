"""Local code gets credentials only for an action a person approved on its card (prompt-injection defence)."""

from __future__ import annotations

import asyncio
import json

from mlintern_jupyter.agent.models import ScriptedModel
from mlintern_jupyter.tools import ToolsConfig, default_tools

from .helpers import call, make_session

TOKEN = "hf_" + "LocalJobTokenCheck0123456789abcd"
PROBE = "import json, os; print(json.dumps({'HF_TOKEN': os.environ.get('HF_TOKEN'), " \
        "'OTHER_API_KEY': os.environ.get('OTHER_API_KEY'), 'PATH_SET': bool(os.environ.get('PATH'))}))"


def _run(mode: str, answer_as_person: bool, monkeypatch) -> dict:
    monkeypatch.setenv("OTHER_API_KEY", "sk-other-secret-value-123456")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    tools = default_tools(ToolsConfig(hf_token=TOKEN, runtime="local"))
    script = [{"tool_calls": [call("bash", {"command": f'python -c "{PROBE}"'})]}, "done"]
    session = make_session(ScriptedModel(script), tools, approve_mode=mode)

    async def scenario():
        task = asyncio.ensure_future(session.run_turn("probe the environment"))
        if answer_as_person:
            for _ in range(500):
                if session.approvals.pending():
                    break
                await asyncio.sleep(0.01)
            session.answer_approval(session.approvals.pending()[0].nonce, "approve")
        return await asyncio.wait_for(task, 60)

    asyncio.run(scenario())
    output = "".join(e.text for e in session.seen if e.kind == "tool_output")
    return json.loads(next(line for line in output.splitlines() if line.startswith("{")))


def test_policy_approved_local_code_runs_without_secrets(monkeypatch) -> None:
    seen = _run("auto", answer_as_person=False, monkeypatch=monkeypatch)
    assert seen == {"HF_TOKEN": None, "OTHER_API_KEY": None, "PATH_SET": True}


def test_person_approved_local_code_gets_the_environment(monkeypatch) -> None:
    seen = _run("ask", answer_as_person=True, monkeypatch=monkeypatch)
    # The values reached the process (and were redacted on their way into the log and the cards).
    assert seen["HF_TOKEN"] == "[REDACTED:HF_TOKEN]" and seen["OTHER_API_KEY"].startswith("[REDACTED")
