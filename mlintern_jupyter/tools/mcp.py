"""MCP servers from `$MLINTERN_HOME/config.json` (`mcpServers`, the fastmcp format) as namespaced tools.

Tool names are `<server>__<tool>`: the approval policy reads the server from the part before `__`, so every
MCP call passes the gate and asks unless the server is marked `"readOnly": true` (see `read_only_servers`,
which fills `PolicyConfig.read_only_mcp_servers`). Credentials are per server: `${VAR}` placeholders in a
server's `headers` / `env` are filled from the environment, and the HF token is filled in only for servers on
Hugging Face hosts (or local stdio servers that ask for it explicitly). Each call opens its own connection, so
a crashed server fails one call, never the session.

`"hf": true` at the top of config.json adds the Hugging Face MCP server (`<Hub endpoint>/mcp`) as server `hf`,
with the HF token sent by `hf_mcp_token`'s rule only; its tools that declare `readOnlyHint` are marked read-only
(`Tool.read_only`, for `PolicyConfig.read_only_mcp_tools`). Hints from other servers are not trusted.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import urlparse

from pydantic import ConfigDict, Field, create_model

from .config import ToolsConfig, sends_hf_token
from .registry import Tool, ToolError, ToolReturn

RESULT_CHARS = 24_000
NAME_OK = re.compile(r"[^A-Za-z0-9_-]")
HF_VARS = {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}
JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "array": list,
                              "object": dict}


HF_SERVER = "hf"
# Marks the built-in entry; a user's own server cannot carry it (it is dropped from configured specs).
BUILTIN_HF = "_mlintern_builtin_hf"
HF_MCP_HOSTS = frozenset({"huggingface.co", "hf.co"})
# A server name is used as it is, never rewritten: rewriting once mapped `docs.search` and `docs_search` to one
# name, so one server's read-only flag covered another, writable one. No `__` (it separates server and tool).
SERVER_NAME = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")


def hf_mcp_token(url: str, config: ToolsConfig) -> str | None:
    """The HF token for the Hugging Face MCP server at `url`, or None: only over https to huggingface.co / hf.co,
    or to the configured Hub endpoint, by exact host (never by suffix: a *.hf.space app is anyone's)."""
    parsed, endpoint = urlparse(url), urlparse(config.hf_endpoint)
    official = parsed.scheme == "https" and (parsed.hostname or "").lower() in HF_MCP_HOSTS and parsed.port is None
    configured = (parsed.scheme, parsed.netloc.lower()) == (endpoint.scheme, endpoint.netloc.lower())
    return config.resolved_hf_token() if official or configured else None


def _configured(config: ToolsConfig) -> dict[str, dict[str, Any]]:
    data = config.user_config()
    servers = data.get("mcpServers") or {}
    if not isinstance(servers, dict):
        servers = {}
    out = {str(name): {k: v for k, v in spec.items() if k != BUILTIN_HF} for name, spec in servers.items()
           if isinstance(spec, dict) and not spec.get("disabled")}
    if data.get("hf") is True and HF_SERVER not in out:
        out[HF_SERVER] = {"url": f"{config.hf_endpoint.rstrip('/')}/mcp", "transport": "http", BUILTIN_HF: True}
    return out


def mcp_servers(config: ToolsConfig) -> dict[str, dict[str, Any]]:
    """The enabled servers whose names are valid tool-name prefixes (see `name_problems` for the others)."""
    return {name: spec for name, spec in _configured(config).items() if SERVER_NAME.fullmatch(name)}


def name_problems(config: ToolsConfig) -> list[str]:
    """Configuration errors to show the person: server names that cannot prefix a tool name as they are."""
    return [f"{name}: the server name may hold only letters, digits and single '-' or '_' between them (it "
            "prefixes its tools' names as written); rename it in config.json. Its tools were not loaded."
            for name in _configured(config) if not SERVER_NAME.fullmatch(name)]


def read_only_servers(config: ToolsConfig) -> set[str]:
    """Servers the person marked read-only: their tools run without asking."""
    return {name for name, spec in mcp_servers(config).items() if spec.get("readOnly") is True}


def _safe(name: str) -> str:
    return NAME_OK.sub("_", name).replace("__", "_")


def _expand(value: str, server_url: str | None, config: ToolsConfig) -> str:
    """Fill ${VAR} from the environment; the HF token only for HF hosts (or local stdio servers)."""

    def sub(match: re.Match[str]) -> str:
        var = match.group(1)
        if var in HF_VARS:
            if server_url is not None and not config.sends_hf_token(server_url):
                raise ToolError(f"MCP server at {server_url} asks for {var}: the HF token is only sent to Hugging "
                                "Face hosts; remove it from that server's config")
            return config.resolved_hf_token() or ""
        return os.environ.get(var, "")

    return re.sub(r"\$\{(\w+)\}", sub, value)


def transport_spec(spec: dict[str, Any], config: ToolsConfig) -> dict[str, Any]:
    """The fastmcp server entry with our own keys removed and credentials filled in."""
    out = {k: v for k, v in spec.items() if k not in ("readOnly", "disabled", "description", BUILTIN_HF)}
    url = str(out["url"]) if out.get("url") else None
    if spec.get(BUILTIN_HF) and url:
        token = hf_mcp_token(url, config)
        if token:
            out["headers"] = {**(out.get("headers") or {}), "Authorization": f"Bearer {token}"}
        return out
    for key in ("headers", "env"):
        if isinstance(out.get(key), dict):
            out[key] = {k: _expand(str(v), url, config) for k, v in out[key].items()}
    if url and isinstance(out.get("headers"), dict):
        token = config.resolved_hf_token()
        if token and not sends_hf_token(url, config.hf_hosts()) and any(token in v for v in out["headers"].values()):
            raise ToolError(f"the HF token is configured for MCP server {url}, which is not a Hugging Face host")
    return out


def _client(name: str, spec: dict[str, Any], config: ToolsConfig) -> Any:
    from fastmcp import Client

    return Client({"mcpServers": {name: transport_spec(spec, config)}}, timeout=config.http_timeout_s * 4)


def _args_model(tool_name: str, schema: dict[str, Any]) -> Any:
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    fields: dict[str, Any] = {}
    for prop, sub in props.items():
        json_type = sub.get("type") if isinstance(sub, dict) else None
        kind = JSON_TYPES.get(json_type, Any) if isinstance(json_type, str) else Any
        if prop in required:
            fields[prop] = (kind, Field(...))
        else:
            fields[prop] = (kind | None, Field(None))
    return create_model(f"{tool_name}_args", __config__=ConfigDict(extra="forbid"), **fields)  # type: ignore[call-overload]


def _render(result: Any) -> tuple[str, bool]:
    parts = []
    for block in getattr(result, "content", None) or []:
        text = getattr(block, "text", None)
        parts.append(text if text is not None else json.dumps(block.model_dump(mode="json"), default=str)[:2000])
    if not parts and getattr(result, "structured_content", None) is not None:
        parts.append(json.dumps(result.structured_content, default=str))
    text = "\n".join(parts) or "(no content)"
    if len(text) > RESULT_CHARS:
        text = text[:RESULT_CHARS] + f"\n[... {len(text) - RESULT_CHARS} characters cut]"
    return text, not getattr(result, "is_error", False)


def _make_tool(server: str, spec: dict[str, Any], info: Any, config: ToolsConfig) -> Tool:
    name = f"{server}__{_safe(info.name)}"
    schema = dict(getattr(info, "input_schema", None) or {"type": "object", "properties": {}})
    schema.setdefault("properties", {})

    async def call_mcp(**arguments: Any) -> ToolReturn:
        args = {k: v for k, v in arguments.items() if v is not None}
        try:
            async with _client(server, spec, config) as client:
                result = await client.call_tool(info.name, args, raise_on_error=False)
        except ToolError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing server is a result, not a crash
            raise ToolError(f"MCP server {server!r} failed: {type(exc).__name__}: {str(exc)[:300]}") from None
        text, ok = _render(result)
        return ToolReturn(text, ok=ok)

    description = (info.description or f"{info.name} from MCP server {server}")[:1000]
    read_only = bool(spec.get(BUILTIN_HF) and _read_only_hint(getattr(info, "annotations", None)) is True)
    return Tool(name=name, description=f"[MCP {server}] {description}", parameters=schema, function=call_mcp,
                args_model=_args_model(name, schema), access="read" if read_only else "external")


def _read_only_hint(annotations: Any) -> Any:
    """The tool's readOnlyHint, under its MCP SDK v1 or v2 field name."""
    fields = getattr(type(annotations), "model_fields", {})
    name = next((n for n in ("read_only_hint", "readOnlyHint") if n in fields), None)
    return getattr(annotations, name) if name else None


def read_only_mcp_tools(tools: list[Tool]) -> set[str]:
    """Names of MCP tools marked read-only (the HF server's `readOnlyHint` tools), for the approval policy."""
    return {t.name for t in tools if "__" in t.name and t.read_only}


async def load_mcp_tools(config: ToolsConfig) -> tuple[list[Tool], list[str]]:
    """Connect to each configured server once to list its tools. Returns (tools, problems)."""
    tools: list[Tool] = []
    problems: list[str] = name_problems(config)
    if config.user_config().get("hf") is True and HF_SERVER in (config.user_config().get("mcpServers") or {}):
        problems.append('"hf": true is ignored: mcpServers already has a server named "hf"')
    for server, spec in mcp_servers(config).items():
        try:
            async with _client(server, spec, config) as client:
                infos = await client.list_tools()
        except ToolError as exc:
            problems.append(f"{server}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - one broken server must not hide the others
            problems.append(f"{server}: could not connect ({type(exc).__name__}: {str(exc)[:200]})")
            continue
        names: dict[str, str] = {}
        for info in infos:
            tool = _make_tool(server, spec, info, config)
            if tool.name in names:  # two tool names of one server that read the same once sanitised
                problems.append(f"{server}: tools {names[tool.name]!r} and {info.name!r} would both be {tool.name}; "
                                f"neither was loaded")
                tools = [t for t in tools if t.name != tool.name]
                continue
            names[tool.name] = info.name
            tools.append(tool)
    return tools, problems
