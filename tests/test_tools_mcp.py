"""MCP tools from $MLINTERN_HOME/config.json, with a real fastmcp server started by the test (stdio)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.policy import PolicyConfig
from mlintern_jupyter.tools import ToolRegistry, add_mcp_tools
from mlintern_jupyter.tools.config import ToolsConfig
from mlintern_jupyter.tools.mcp import hf_mcp_token, mcp_servers, read_only_mcp_tools, transport_spec
from tests.test_tools_support import of_kind, results, run, scripted_session

SERVER = textwrap.dedent("""
    import os
    from fastmcp import FastMCP

    mcp = FastMCP("calc")

    @mcp.tool
    def add(a: int, b: int) -> int:
        '''Add two integers.'''
        return a + b

    @mcp.tool
    def whoami() -> str:
        '''Which credentials this server was given.'''
        return f"token={os.environ.get('CALC_TOKEN', '')} hf={os.environ.get('HF_TOKEN', '')}"

    @mcp.tool
    def explode() -> str:
        '''Always fails.'''
        raise ValueError("kaboom")

    mcp.run(show_banner=False)
""")


def _write_config(tmp_path: Path, servers: dict) -> ToolsConfig:
    home = Path(os.environ["MLINTERN_HOME"])
    (home / "config.json").write_text(json.dumps({"mcpServers": servers}))
    return ToolsConfig(hf_token="hf_secret_for_mcp_test")


def test_mcp_tools_are_namespaced_gated_and_get_their_own_credentials(tmp_path, monkeypatch):
    script = tmp_path / "calc_server.py"
    script.write_text(SERVER)
    monkeypatch.setenv("CALC_SECRET", "calc-123")
    config = _write_config(tmp_path, {
        "calc": {"command": sys.executable, "args": [str(script)], "env": {"CALC_TOKEN": "${CALC_SECRET}"}},
        "calcro": {"command": sys.executable, "args": [str(script)], "readOnly": True},
        "remote": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer ${HF_TOKEN}"}},
        "broken": {"command": sys.executable, "args": [str(tmp_path / "missing.py")]},
    })
    registry = ToolRegistry()
    read_only, problems = run(add_mcp_tools(registry, config), timeout=120)
    assert {"calc__add", "calc__whoami", "calc__explode", "calcro__add"} <= set(registry.names)
    assert read_only == {"calcro"}
    assert any(p.startswith("remote:") and "only sent to Hugging Face hosts" in p for p in problems)
    assert any(p.startswith("broken:") for p in problems)
    assert registry.get("calc__add").parameters["required"] == ["a", "b"]

    calls = [
        {"id": "a", "name": "calc__add", "arguments": {"a": 2, "b": 40}},
        {"id": "r", "name": "calcro__add", "arguments": {"a": 1, "b": 1}},
        {"id": "w", "name": "calc__whoami", "arguments": {}},
        {"id": "x", "name": "calc__explode", "arguments": {}},
        {"id": "v", "name": "calc__add", "arguments": {"a": "two"}},
    ]
    session = scripted_session(tmp_path, registry, [{"tool_calls": calls}, "done"], approve="auto", budget=1.0,
                               policy=PolicyConfig(read_only_mcp_servers=read_only))
    run(session.run_turn("add"), timeout=120)
    by_id = {r.call_id: r for r in results(session)}
    assert by_id["a"].ok and by_id["a"].content == "42"
    assert by_id["r"].ok and by_id["r"].content == "2"
    # the stdio server got its own credential (which the session's redactor then masks, as a known secret),
    # and not the HF token it did not ask for
    assert by_id["w"].content.startswith("token=[REDACTED") and by_id["w"].content.endswith(" hf=")
    assert "calc-123" not in (session.dir / "events.jsonl").read_text()
    assert not by_id["x"].ok and "kaboom" in by_id["x"].content
    assert not by_id["v"].ok and "invalid arguments" in by_id["v"].content
    asked = {e.call_id: e.reason for e in of_kind(session, ev.ApprovalRequested)}
    assert set(asked) == {"a", "w", "x"} and asked["a"] == "calls MCP server 'calc'"


def test_no_config_means_no_mcp_tools(tmp_path):
    registry = ToolRegistry()
    read_only, problems = run(add_mcp_tools(registry, ToolsConfig()))
    assert len(registry) == 0 and read_only == set() and problems == []


def test_hf_true_adds_the_hugging_face_mcp_server_with_its_read_only_tools_marked(tmp_path):
    from tests.fakes.hf_mcp import FakeHfMcp

    with FakeHfMcp() as server:
        (Path(os.environ["MLINTERN_HOME"]) / "config.json").write_text(json.dumps({"hf": True}))
        config = ToolsConfig(hf_endpoint=server.url, hf_token="hf_secret_for_hf_mcp")
        registry = ToolRegistry()
        _, problems = run(add_mcp_tools(registry, config), timeout=120)
        assert problems == []
        assert {"hf__hf_doc_search", "hf__space_search", "hf__dynamic_space"} <= set(registry.names)
        read_only = read_only_mcp_tools(list(registry))
        assert read_only == {"hf__hf_doc_search", "hf__space_search"}
        assert server.authorizations and set(server.authorizations) == {"Bearer hf_secret_for_hf_mcp"}
        calls = [{"id": "d", "name": "hf__hf_doc_search", "arguments": {"query": "sft"}},
                 {"id": "r", "name": "hf__dynamic_space", "arguments": {"space_name": "evil/app"}}]
        session = scripted_session(tmp_path, registry, [{"tool_calls": calls}, "done"], approve="deny",
                                   policy=PolicyConfig(read_only_mcp_tools=read_only))
        run(session.run_turn("search the docs"), timeout=120)
        by_id = {r.call_id: r for r in results(session)}
        assert by_id["d"].ok and "docs about sft" in by_id["d"].content
        assert by_id["r"].status == "denied"  # a tool that is not read-only goes through the gate
        assert [e.call_id for e in of_kind(session, ev.ApprovalRequested)] == ["r"]


def test_the_hf_token_goes_to_the_hf_mcp_server_by_exact_host_only():
    config = ToolsConfig(hf_endpoint="https://hub.example.org", hf_token="hf_tok")
    for url in ("https://huggingface.co/mcp", "https://hf.co/mcp", "https://hub.example.org/mcp"):
        assert hf_mcp_token(url, config) == "hf_tok", url
    for url in ("https://evil.hf.space/mcp", "https://huggingface.co.evil.com/mcp", "http://huggingface.co/mcp",
                "https://huggingface.co:8443/mcp", "https://mcp.huggingface.co/mcp", "http://hub.example.org/mcp"):
        assert hf_mcp_token(url, config) is None, url


def test_a_users_own_hf_server_wins_and_gets_no_token(tmp_path):
    home = Path(os.environ["MLINTERN_HOME"])
    (home / "config.json").write_text(json.dumps({"hf": True, "mcpServers": {
        "hf": {"url": "https://evil.hf.space/mcp", "_mlintern_builtin_hf": True}}}))
    config = ToolsConfig(hf_token="hf_tok")
    spec = mcp_servers(config)["hf"]
    assert "_mlintern_builtin_hf" not in spec and "headers" not in transport_spec(spec, config)
    registry = ToolRegistry()
    _, problems = run(add_mcp_tools(registry, config), timeout=60)
    assert any('"hf": true is ignored' in p for p in problems)
