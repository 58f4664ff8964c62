"""github_find_examples, github_list_repos, github_read_file: the GitHub REST API through async httpx.

GITHUB_TOKEN is sent to the configured GitHub API only. Notebooks are read as their cells' text; big files
are read partially (streamed, capped) and binary files are described instead of shown.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

import httpx

from .config import ToolsConfig
from .errors import from_httpx
from .netguard import guarded_client
from .registry import Tool, ToolError

FILE_CHARS = 24_000
STREAM_BYTES = 1 << 20  # never pull more than 1 MB of a file into memory


def notebook_text(raw: str) -> str:
    """A notebook as its cells' text (outputs dropped: they are big and rarely what the model needs)."""
    try:
        nb = json.loads(raw)
    except ValueError:
        return raw
    parts = []
    for i, cell in enumerate(nb.get("cells", [])):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        parts.append(f"# %% [{cell.get('cell_type', 'code')}] cell {i}\n{source}")
    return "\n\n".join(parts)


class _GitHub:
    def __init__(self, config: ToolsConfig) -> None:
        self.base = config.github_api_url.rstrip("/")
        self.token = config.resolved_github_token()
        self.timeout = config.http_timeout_s

    def client(self, accept: str = "application/vnd.github+json") -> httpx.AsyncClient:
        headers = {"Accept": accept, "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "mlintern-jupyter"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # Redirects (renamed repositories, raw downloads) pass the network guard; httpx drops the token off-origin.
        return guarded_client(trusted=[self.base], base_url=self.base, headers=headers, timeout=self.timeout,
                              follow_redirects=True)

    async def get_json(self, path: str, params: dict[str, Any] | None = None,
                       accept: str = "application/vnd.github+json") -> Any:
        async with self.client(accept) as client:
            try:
                response = await client.get(path, params=params)
            except httpx.HTTPError as exc:
                raise ToolError(f"could not reach GitHub ({type(exc).__name__}); retry later") from None
        if response.status_code >= 400:
            raise from_httpx("GitHub", response, token_name="GITHUB_TOKEN")
        return response.json()


def make_github_tools(config: ToolsConfig) -> list[Tool]:
    gh = _GitHub(config)

    async def github_find_examples(query: str | None = None, repo: str | None = None, org: str | None = None,
                                   language: str | None = "python", max_results: int = 10,
                                   min_score: int | None = None) -> str:
        """Find current example code on GitHub before you write ML code: what you remember of library APIs is
        outdated knowledge, a maintained example is not. Start from the library's own examples, e.g. query "sft" in repo
        "huggingface/trl" (examples/scripts/sft.py, dpo.py, grpo.py), "run_glue" in "huggingface/transformers";
        then read the file with github_read_file and base your script on it. Code search needs GITHUB_TOKEN;
        without one it lists matching repositories.

        Args:
            query: keywords, e.g. "SFTTrainer peft" or "grpo" (ml-intern's `keyword`).
            repo: one repository, "owner/name" (e.g. "huggingface/trl"), or a name in `org` (e.g. "trl").
            org: an organisation or user, e.g. "huggingface" (the owner of a bare `repo` name; default huggingface).
            language: programming language filter (default python; null for any).
            max_results: at most this many results (max 30).
            min_score: accepted for ml-intern's calls and not used: GitHub ranks the matches.
        """
        if repo and "/" not in repo:
            repo = f"{org or 'huggingface'}/{repo}"
            org = None
        if not (query and query.strip()) and not repo:
            raise ToolError("give `query` (keywords, e.g. \"SFTTrainer\") and/or `repo` (e.g. \"huggingface/trl\")")
        query = query.strip() if query and query.strip() else "example"
        q = " ".join([query, *([f"repo:{repo}"] if repo else []), *([f"org:{org}"] if org else []),
                      *([f"language:{language}"] if language else [])])
        limit = max(1, min(max_results, 30))
        if gh.token:
            data = await gh.get_json("/search/code", {"q": q, "per_page": limit},
                                     accept="application/vnd.github.text-match+json")
            lines = [f"{data.get('total_count', 0)} files match {q!r}:"]
            for item in data.get("items", [])[:limit]:
                frag = " ".join((item.get("text_matches") or [{}])[0].get("fragment", "").split())[:200]
                lines.append(f"- {item['repository']['full_name']}: {item['path']}" + (f"  | {frag}" if frag else ""))
            lines.append("Read one with github_read_file(repo, path).")
            return "\n".join(lines)
        # Code search needs a token; repository search does not.
        q_repos = " ".join([query, *([f"user:{org}"] if org else []), *([f"language:{language}"] if language else [])])
        data = await gh.get_json("/search/repositories", {"q": q_repos, "sort": "stars", "per_page": limit})
        lines = [f"(GitHub code search needs GITHUB_TOKEN; showing repositories for {q_repos!r} instead)"]
        for item in data.get("items", [])[:limit]:
            lines.append(f"- {item['full_name']} ({item.get('stargazers_count', 0)} stars): "
                         f"{(item.get('description') or '')[:150]}")
        return "\n".join(lines)

    async def github_list_repos(owner: str, sort: Literal["stars", "forks", "updated", "created", "pushed",
                                                          "full_name"] = "updated",
                                order: Literal["asc", "desc"] = "desc", limit: int = 30,
                                owner_type: Literal["user", "org"] | None = None) -> str:
        """List the public repositories of a GitHub user or organisation, e.g. to find where a paper's code or a
        library's examples live.

        Args:
            owner: user or organisation, e.g. "huggingface".
            sort: stars, forks, updated (default), created, pushed or full_name.
            order: desc (default) or asc.
            limit: at most this many (max 100).
            owner_type: "user" or "org"; either works, the same listing serves both.
        """
        limit = max(1, min(limit, 100))
        local_sort = sort in ("stars", "forks")
        repos = await gh.get_json(f"/users/{owner}/repos", {"per_page": 100 if local_sort else limit,
                                                            "sort": "updated" if local_sort else sort,
                                                            "direction": order})
        if local_sort:
            key = "stargazers_count" if sort == "stars" else "forks_count"
            repos.sort(key=lambda r: r.get(key, 0), reverse=order == "desc")
        return "\n".join([f"{len(repos[:limit])} repositories of {owner}:"] + [
            f"- {r['full_name']} ({r.get('stargazers_count', 0)} stars, {r.get('language') or '-'}): "
            f"{(r.get('description') or '')[:150]}" for r in repos[:limit]])

    async def github_read_file(repo: str, path: str, ref: str | None = None, line_start: int = 1,
                               line_end: int | None = None) -> str:
        """Read a file (or list a directory) from a GitHub repository; notebooks come back as cell text.

        Args:
            repo: "owner/name", e.g. "huggingface/trl".
            path: file or directory path in the repository.
            ref: branch, tag or commit (default: the default branch).
            line_start: first line to show (1-based).
            line_end: last line to show (default: as much as fits).
        """
        if repo.count("/") != 1:
            raise ToolError("repo must be 'owner/name'")
        params = {"ref": ref} if ref else None
        meta = await gh.get_json(f"/repos/{repo}/contents/{path.strip('/')}", params)
        if isinstance(meta, list):
            return f"{repo}/{path} is a directory:\n" + "\n".join(
                f"- {e['path']}{'/' if e.get('type') == 'dir' else ''} ({e.get('size', 0)} bytes)" for e in meta[:300])
        size = int(meta.get("size") or 0)
        data, partial = await _file_bytes(gh, repo, path, params, meta)
        if b"\x00" in data[:8192]:
            return f"{repo}/{path} is a binary file ({size} bytes); it cannot be shown as text."
        text = data.decode("utf-8", "replace")
        if path.endswith(".ipynb") and not partial:
            text = notebook_text(text)
        lines = text.splitlines()
        start = max(1, line_start)
        chosen = lines[start - 1: line_end] if line_end else lines[start - 1:]
        body, shown = [], 0
        for number, line in enumerate(chosen, start):
            shown += len(line) + 1
            if shown > FILE_CHARS:
                body.append(f"[... cut at line {number}; pass line_start={number} to read on]")
                break
            body.append(line)
        note = f" (first {len(data)} of {size} bytes: a large file is read partially)" if partial else ""
        return f"{repo}/{path}{note}, lines {start}-{start + len(body) - 1} of {len(lines)}:\n" + "\n".join(body)

    return [Tool.from_function(github_find_examples, read_only=True, aliases={"keyword": "query"}),
            Tool.from_function(github_list_repos, read_only=True), Tool.from_function(github_read_file, read_only=True)]


async def _file_bytes(gh: _GitHub, repo: str, path: str, params: dict[str, str] | None,
                      meta: dict[str, Any]) -> tuple[bytes, bool]:
    """The file's bytes (at most STREAM_BYTES) and whether that is only its beginning."""
    if meta.get("encoding") == "base64" and meta.get("content"):
        return base64.b64decode(meta["content"]), False
    async with gh.client("application/vnd.github.raw") as client:
        try:
            async with client.stream("GET", f"/repos/{repo}/contents/{path.strip('/')}", params=params) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise from_httpx("GitHub", response, token_name="GITHUB_TOKEN")
                chunks, total = [], 0
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    total += len(chunk)
                    if total >= STREAM_BYTES:
                        return b"".join(chunks)[:STREAM_BYTES], True
                return b"".join(chunks), False
        except httpx.HTTPError as exc:
            raise ToolError(f"could not read the file from GitHub ({type(exc).__name__}); retry later") from None
