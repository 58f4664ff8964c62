"""hf_repo_files (and hf_repo_git, in hub_git.py): Hub repositories through `huggingface_hub.HfApi`.

Every write (upload, delete, branch/tag, PR, create repo, settings) needs approval by the default policy; a new
repo is private unless the model explicitly asks otherwise (and then `auto` never approves it alone). Before the
card of a write, the target repo's visibility is asked of the Hub (hub_visibility.py): a write into a public repo
is never approved by policy.
"""

from __future__ import annotations

from typing import Literal

import httpx

from .config import ToolsConfig
from .errors import from_httpx
from .hub_visibility import visibility_resolver
from .jobs.hf import call, make_api
from .registry import Tool, ToolContext, ToolError
from .sandbox import confine

RepoType = Literal["model", "dataset", "space"]
READ_BYTES = 1 << 20
READ_CHARS = 24_000
UPLOAD_MAX_BYTES = 50 << 20


def _prefix(repo_type: str) -> str:
    return {"model": "", "dataset": "datasets/", "space": "spaces/"}[repo_type]


def make_hub_repo_tools(config: ToolsConfig) -> list[Tool]:
    def api():  # a fresh client per call: the token may change between calls (login in another cell)
        return make_api(config.hf_endpoint, config.resolved_hf_token())

    async def hf_repo_files(operation: Literal["list", "read", "upload", "delete"], repo_id: str, ctx: ToolContext,
                            repo_type: RepoType = "model", path: str | None = None, content: str | None = None,
                            local_path: str | None = None, revision: str = "main",
                            commit_message: str | None = None, create_pr: bool = False,
                            patterns: list[str] | None = None) -> str:
        """List, read, upload or delete files of a Hub repository. Check a model before training on it (list: its
        weights' sizes tell the parameter count; read config.json) and verify a pushed result (list shows the weights
        and README.md landed). Uploads and deletions wait for the person's approval; text files only for read.
        Examples: {"operation": "read", "repo_id": "Qwen/Qwen2.5-0.5B", "path": "config.json"};
        {"operation": "delete", "repo_id": "me/model", "patterns": ["*.tmp", "logs/"]}.

        Args:
            operation: list (files under path), read (one text file), upload (content or a workspace file), delete.
            repo_id: e.g. "username/my-model".
            repo_type: model, dataset or space.
            path: the file (or folder, for list) path in the repo.
            content: for upload: the text to write.
            local_path: for upload: a workspace file to upload instead of content.
            revision: branch, tag or commit.
            commit_message: for upload/delete.
            create_pr: for upload/delete: open a pull request instead of committing to the branch.
            patterns: for delete: glob patterns of files to delete, e.g. ["*.tmp", "logs/"] (instead of path).
        """
        if operation == "list":
            entries = await call(lambda: list(api().list_repo_tree(repo_id, path_in_repo=path or None,
                                                                   repo_type=repo_type, revision=revision,
                                                                   recursive=True)))
            lines = [f"{e.path}{'/' if not hasattr(e, 'size') else ''} ({getattr(e, 'size', 0)} bytes)"
                     for e in entries[:500]]
            more = f"\n[... {len(entries) - 500} more]" if len(entries) > 500 else ""
            return f"{repo_id} ({repo_type}, {revision}): {len(entries)} entries\n" + "\n".join(lines) + more
        if operation == "delete" and patterns:
            info = await call(api().delete_files, repo_id=repo_id, delete_patterns=patterns, repo_type=repo_type,
                              revision=revision, create_pr=create_pr,
                              commit_message=commit_message or f"Delete {', '.join(patterns)}",
                              what="the Hub (delete)")
            return f"Deleted {', '.join(patterns)} from {repo_id}: {getattr(info, 'commit_url', info)}"
        if not path:
            raise ToolError(f"operation '{operation}' needs `path`" + (" (or `patterns`)" if operation == "delete"
                                                                        else ""))
        if operation == "read":
            return await _read(config, repo_id, repo_type, revision, path)
        if operation == "upload":
            if local_path:
                source = confine(ctx, local_path)
                if not source.is_file():
                    raise ToolError(f"{local_path!r} is not a file in the workspace")
                if source.stat().st_size > UPLOAD_MAX_BYTES:
                    raise ToolError("the file is over 50 MB: upload it with huggingface_hub from a job or a cell")
                data = source.read_bytes()
            elif content is not None:
                data = content.encode()
            else:
                raise ToolError("upload needs `content` or `local_path`")
            info = await call(api().upload_file, path_or_fileobj=data, path_in_repo=path, repo_id=repo_id,
                              repo_type=repo_type, revision=revision, create_pr=create_pr,
                              commit_message=commit_message or f"Upload {path}", what="the Hub (upload)")
            return f"Uploaded {path} to {repo_id} ({len(data)} bytes): {getattr(info, 'commit_url', info)}"
        info = await call(api().delete_file, path_in_repo=path, repo_id=repo_id, repo_type=repo_type,
                          revision=revision, create_pr=create_pr, commit_message=commit_message or f"Delete {path}",
                          what="the Hub (delete)")
        return f"Deleted {path} from {repo_id}: {getattr(info, 'commit_url', info)}"

    from .hub_git import make_hf_repo_git

    return [Tool.from_function(hf_repo_files, resolver=visibility_resolver(config, "hf_repo_files")),
            make_hf_repo_git(config)]


async def _read(config: ToolsConfig, repo_id: str, repo_type: str, revision: str, path: str) -> str:
    url = f"{config.hf_endpoint.rstrip('/')}/{_prefix(repo_type)}{repo_id}/resolve/{revision}/{path}"
    headers = {"User-Agent": "mlintern-jupyter"}
    token = config.resolved_hf_token()
    if token and config.sends_hf_token(url):
        headers["Authorization"] = f"Bearer {token}"
    try:
        async with httpx.AsyncClient(timeout=config.http_timeout_s, follow_redirects=True) as client, \
                client.stream("GET", url, headers=headers) as response:
            if response.status_code >= 400:
                await response.aread()
                raise from_httpx("the Hub", response, token_name="HF_TOKEN")
            size = int(response.headers.get("content-length") or 0)
            data = b""
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) >= READ_BYTES:
                    break
    except httpx.HTTPError as exc:
        raise ToolError(f"could not reach the Hub ({type(exc).__name__}); retry later") from None
    if b"\x00" in data[:8192]:
        return f"{repo_id}/{path} is a binary file ({size or len(data)} bytes); it cannot be shown as text."
    text = data[:READ_BYTES].decode("utf-8", "replace")
    note = f" (first {READ_BYTES} of {size} bytes)" if size > READ_BYTES else ""
    if len(text) > READ_CHARS:
        text, note = text[:READ_CHARS], note + f" (cut at {READ_CHARS} characters)"
    return f"{repo_id}/{path}{note}:\n{text}"
