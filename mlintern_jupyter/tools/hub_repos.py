"""hf_repo_files and hf_repo_git: Hub repositories through `huggingface_hub.HfApi` (reads free, writes gated).

Every write (upload, delete, branch/tag, PR, create repo, settings) needs approval by the default policy; a new
repo is private unless the model explicitly asks otherwise (and then `auto` never approves it alone).
"""

from __future__ import annotations

from typing import Literal

import httpx

from .config import ToolsConfig
from .errors import from_httpx
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
                            commit_message: str | None = None, create_pr: bool = False) -> str:
        """List, read, upload or delete files of a Hub repository.

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
        """
        if operation == "list":
            entries = await call(lambda: list(api().list_repo_tree(repo_id, path_in_repo=path or None,
                                                                   repo_type=repo_type, revision=revision,
                                                                   recursive=True)))
            lines = [f"{e.path}{'/' if not hasattr(e, 'size') else ''} ({getattr(e, 'size', 0)} bytes)"
                     for e in entries[:500]]
            more = f"\n[... {len(entries) - 500} more]" if len(entries) > 500 else ""
            return f"{repo_id} ({repo_type}, {revision}): {len(entries)} entries\n" + "\n".join(lines) + more
        if not path:
            raise ToolError(f"operation '{operation}' needs `path`")
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

    async def hf_repo_git(operation: Literal["info", "list_refs", "list_prs", "create_repo", "create_branch",
                                             "delete_branch", "create_tag", "delete_tag", "create_pr", "settings",
                                             "delete_repo"],
                          repo_id: str, repo_type: RepoType = "model", branch: str | None = None,
                          tag: str | None = None, revision: str | None = None, title: str | None = None,
                          description: str | None = None, private: bool | None = None,
                          gated: Literal["auto", "manual", False] | None = None) -> str:
        """Branches, tags, pull requests, repo creation (private by default) and settings of a Hub repository.

        Args:
            operation: info, list_refs, list_prs, create_repo, create_branch, delete_branch, create_tag,
                delete_tag, create_pr, settings, delete_repo (e.g. a sandbox Space that is no longer needed).
            repo_id: e.g. "username/my-model".
            repo_type: model, dataset or space.
            branch: branch name (create_branch, delete_branch).
            tag: tag name (create_tag, delete_tag).
            revision: starting point of a new branch or tag (default main).
            title: pull request title; description: its text.
            description: pull request description.
            private: create_repo / settings: visibility (new repos are private unless false is given).
            gated: settings: access requests ("auto", "manual" or false).
        """
        client = api()
        match operation:
            case "info":
                info = await call(client.repo_info, repo_id, repo_type=repo_type)
                files = [s.rfilename for s in (info.siblings or [])][:100]
                return (f"{info.id} ({repo_type}) private={info.private} sha={info.sha}\n"
                        f"files ({len(info.siblings or [])}): {', '.join(files)}")
            case "list_refs":
                refs = await call(client.list_repo_refs, repo_id, repo_type=repo_type)
                return (f"branches: {', '.join(b.name for b in refs.branches)}\n"
                        f"tags: {', '.join(t.name for t in refs.tags) or '-'}")
            case "list_prs":
                items = await call(lambda: list(client.get_repo_discussions(repo_id, repo_type=repo_type)))
                return "\n".join(f"#{d.num} [{d.status}] {'PR' if d.is_pull_request else 'discussion'}: {d.title}"
                                 for d in items[:100]) or "No pull requests or discussions."
            case "create_repo":
                url = await call(client.create_repo, repo_id, repo_type=repo_type,
                                 private=True if private is None else private, exist_ok=False,
                                 what="the Hub (create repo)")
                return f"Created {'private' if private is not False else 'public'} {repo_type} repo: {url}"
            case "create_branch" | "delete_branch":
                if not branch:
                    raise ToolError(f"{operation} needs `branch`")
                if operation == "create_branch":
                    await call(client.create_branch, repo_id, branch=branch, revision=revision, repo_type=repo_type)
                else:
                    await call(client.delete_branch, repo_id, branch=branch, repo_type=repo_type)
                return f"{operation.replace('_', ' ')} {branch!r} on {repo_id}: done"
            case "create_tag" | "delete_tag":
                if not tag:
                    raise ToolError(f"{operation} needs `tag`")
                if operation == "create_tag":
                    await call(client.create_tag, repo_id, tag=tag, revision=revision, repo_type=repo_type)
                else:
                    await call(client.delete_tag, repo_id, tag=tag, repo_type=repo_type)
                return f"{operation.replace('_', ' ')} {tag!r} on {repo_id}: done"
            case "create_pr":
                if not title:
                    raise ToolError("create_pr needs `title`")
                pr = await call(client.create_pull_request, repo_id, title=title, description=description or "",
                                repo_type=repo_type)
                return f"Opened PR #{pr.num} on {repo_id}: {pr.url}"
            case "delete_repo":
                await call(client.delete_repo, repo_id, repo_type=repo_type, what="the Hub (delete repo)")
                return f"Deleted {repo_type} repo {repo_id}."
            case "settings":
                if private is None and gated is None:
                    raise ToolError("settings needs `private` and/or `gated`")
                await call(client.update_repo_settings, repo_id, private=private, gated=gated, repo_type=repo_type)
                return f"Settings of {repo_id} updated (private={private}, gated={gated})."
        raise ToolError(f"unknown operation {operation!r}")

    return [Tool.from_function(hf_repo_files), Tool.from_function(hf_repo_git)]


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
