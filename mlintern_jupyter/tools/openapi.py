"""find_hf_api: the Hub REST endpoint for a job, found by searching the Hub's OpenAPI description.

The document (`/.well-known/openapi.json` on the Hub endpoint) is cached on disk for a day and indexed in memory
(BM25 over summary, description, operation id, tags, parameter names). Each match comes back with its parameters,
its request body's fields (`$ref`s resolved) and an example call that reads the token from `$HF_TOKEN`.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import urlparse

from .config import ToolsConfig
from .htmltext import cap, get
from .registry import Tool, ToolError
from .search_index import build_index, search

METHODS = ("get", "post", "put", "patch", "delete")
DESCRIPTION_CHARS = 300
MAX_PROPERTIES = 15


def _resolve(spec: dict[str, Any], schema: Any, depth: int = 0) -> dict[str, Any]:
    """Follow local `$ref`s (#/components/schemas/X) a few levels deep."""
    while isinstance(schema, dict) and "$ref" in schema and depth < 5:
        ref = str(schema["$ref"])
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema, depth = node, depth + 1
    return schema if isinstance(schema, dict) else {}


def _type(spec: dict[str, Any], schema: Any) -> str:
    schema = _resolve(spec, schema)
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"][:8])
    kind = schema.get("type") or ("object" if "properties" in schema else "any")
    return f"{kind}[]" if kind == "array" else str(kind)


def endpoints(spec: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") or []
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = [_resolve(spec, p) for p in [*shared, *(op.get("parameters") or [])]]
            out.append({"method": method.upper(), "path": str(path), "op": op, "params": params,
                        "tags": [str(t) for t in op.get("tags") or []]})
    return out


def _example(param: dict[str, Any]) -> str:
    schema = param.get("schema") or {}
    candidates = [param.get("example"), schema.get("example")]
    for source in (param, schema):
        for key in ("examples", "enum"):
            values = source.get(key)
            if isinstance(values, list) and values:
                candidates.append(values[0])
    return next((str(c) for c in candidates if c not in (None, "")), f"<{param.get('name', 'value')}>")


def describe(spec: dict[str, Any], endpoint: dict[str, Any], base: str) -> str:
    op, params = endpoint["op"], endpoint["params"]
    lines = [f"## {endpoint['method']} {endpoint['path']}"]
    if op.get("summary"):
        lines.append(str(op["summary"]))
    description = " ".join(str(op.get("description") or "").split())
    if description:
        lines.append(description[:DESCRIPTION_CHARS] + ("…" if len(description) > DESCRIPTION_CHARS else ""))
    if endpoint["tags"]:
        lines.append(f"tags: {', '.join(endpoint['tags'])}")
    for where in ("path", "query", "header"):
        group = [p for p in params if p.get("in") == where]
        if group:
            lines.append(f"{where} parameters:")
            lines += [f"- {p.get('name')} ({_type(spec, p.get('schema'))}{', required' if p.get('required') else ''})"
                      + (f": {' '.join(str(p['description']).split())[:150]}" if p.get("description") else "")
                      for p in group]
    body = _resolve(spec, ((op.get("requestBody") or {}).get("content") or {}).get("application/json", {}).get(
        "schema"))
    example_body: dict[str, Any] = {}
    if body.get("properties"):
        required = set(body.get("required") or [])
        lines.append("JSON body:")
        for name, sub in list(body["properties"].items())[:MAX_PROPERTIES]:
            resolved = _resolve(spec, sub)
            fields = ", ".join(resolved.get("properties") or {})
            lines.append(f"- {name} ({_type(spec, sub)}{', required' if name in required else ''})"
                         + (f" with {fields}" if fields else ""))
            if name in required:
                example_body[name] = f"<{name}>"
    url = endpoint["path"]
    for p in params:
        if p.get("in") == "path":
            url = url.replace("{" + str(p.get("name")) + "}", _example(p))
    required_query = [p for p in params if p.get("in") == "query" and p.get("required")]
    if required_query:
        url += "?" + "&".join(f"{p.get('name')}={_example(p)}" for p in required_query)
    curl = f"curl -X {endpoint['method']} '{base}{url}' -H \"Authorization: Bearer $HF_TOKEN\""
    if example_body or (body and endpoint["method"] != "GET"):
        curl += f" -H 'Content-Type: application/json' -d '{json.dumps(example_body)}'"
    lines += ["example:", f"  {curl}"]
    responses = ", ".join(f"{code} {' '.join(str((r or {}).get('description', '')).split())[:60]}"
                          for code, r in list((op.get("responses") or {}).items())[:3])
    if responses:
        lines.append(f"responses: {responses}")
    return "\n".join(lines)


class OpenApiCatalog:
    def __init__(self, config: ToolsConfig) -> None:
        self.config = config
        self.url = f"{config.hf_endpoint.rstrip('/')}/.well-known/openapi.json"
        self._loaded: tuple[dict[str, Any], list[dict[str, Any]], Any] | None = None

    async def load(self) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
        if self._loaded is not None:
            return self._loaded
        site = re.sub(r"[^A-Za-z0-9.-]+", "_", urlparse(self.url).netloc) or "default"
        cache = self.config.cache_dir("openapi", site) / "openapi.json"
        spec: dict[str, Any] | None = None
        try:
            if time.time() - cache.stat().st_mtime < self.config.docs_index_ttl_s:
                spec = json.loads(cache.read_text())
        except (OSError, ValueError):
            spec = None
        if spec is None:
            try:
                spec = (await get(self.config, self.url, service="the Hub's OpenAPI document")).json()
            except ValueError:
                raise ToolError("the Hub's OpenAPI document is not valid JSON; retry later") from None
            if not isinstance(spec, dict) or not isinstance(spec.get("paths"), dict):
                raise ToolError("the Hub's OpenAPI document has no `paths`; retry later")
            cache.write_text(json.dumps(spec))
        found = endpoints(spec)
        docs = [{"summary": str(e["op"].get("summary") or ""), "description": str(e["op"].get("description") or ""),
                 "operation": str(e["op"].get("operationId") or ""), "tags": " ".join(e["tags"]),
                 "params": " ".join(str(p.get("name") or "") for p in e["params"]) + " " + e["path"].replace("/", " "),
                 "key": str(i)} for i, e in enumerate(found)]
        index = build_index(docs, ("summary", "description", "operation", "tags", "params"), ("key",))
        self._loaded = (spec, found, index)
        return self._loaded


def make_openapi_tools(config: ToolsConfig) -> list[Tool]:
    catalog = OpenApiCatalog(config)

    async def find_hf_api(query: str | None = None, tag: str | None = None, limit: int = 6) -> str:
        """Find the Hugging Face Hub REST endpoint for something no other tool does, with an example call.

        Use it when you need the Hub's HTTP API directly: Space logs or metrics, organization members, moving a
        repo, webhooks, access requests, collections. Search by what you want to do (query="space logs",
        query="organization members", query="rename repository"), or browse one category (tag="spaces"). Each
        result shows the method and path, its parameters, the JSON body fields and a curl example that reads the
        token from $HF_TOKEN (never paste a token into a command). Pitfalls: prefer the dedicated tools
        (hf_repo_files, hf_repo_git, hf_jobs) when they cover the action; a write through the raw API still needs
        the person's approval when you run it.

        Args:
            query: what you want to do, in API words, e.g. "stream space logs" or "merge pull request".
            tag: a category of the API to browse or to search within, e.g. "spaces", "repos", "discussions".
            limit: endpoints to show (1-20, default 6).
        """
        if not (query and query.strip()) and not tag:
            raise ToolError("give `query` (e.g. \"space logs\") or `tag` (e.g. \"spaces\"), or both")
        limit = max(1, min(limit, 20))
        spec, found, index = await catalog.load()
        tags = sorted({t for e in found for t in e["tags"]})
        if tag and tag not in tags:
            raise ToolError(f"no tag {tag!r} in the Hub's API; tags: {', '.join(tags)}")
        base = str(((spec.get("servers") or [{}])[0] or {}).get("url") or "https://huggingface.co").rstrip("/")
        note = ""
        if query and query.strip():
            hits = search(index, query, ("summary", "description", "operation", "tags", "params"),
                          {"summary": 3.0, "operation": 2.0, "tags": 1.5}, len(found))
            matches = [found[int(h.fields["key"])] for h in hits]
            if tag:
                matches = [e for e in matches if tag in e["tags"]]
            if not matches and tag:
                note = f"(nothing matches {query!r} in {tag}; all of {tag} instead)\n"
                matches = [e for e in found if tag in e["tags"]]
        else:
            matches = [e for e in found if tag in e["tags"]]
        if not matches:
            return f"No Hub API endpoint matches {query!r}; try other words, or browse a tag: {', '.join(tags)}"
        header = f"{note}{min(limit, len(matches))} of {len(matches)} matching endpoints (base {base}):"
        return cap("\n\n".join([header, *(describe(spec, e, base) for e in matches[:limit])]), 14_000)

    return [Tool.from_function(find_hf_api, read_only=True)]
