"""hf_repo_git: branches, tags, pull requests, repo creation and settings of Hub repositories (huggingface_hub).

Operation and argument names are ml-intern's (`pr_num`, `new_status`, `from_rev`, `space_sdk`, `update_repo`), so
its calls validate here; the older names (`settings`, `revision` for a branch's start) keep working. Every write
goes through the approval gate (reads: info, list_refs, list_prs, get_pr); merging, deleting and settings changes
are never approved by policy alone.
"""

from __future__ import annotations

from typing import Literal

from .config import ToolsConfig
from .hub_visibility import visibility_resolver
from .jobs.hf import call, make_api
from .registry import Tool, ToolContext, ToolError
from .sandbox_remote import end_sandbox

RepoType = Literal["model", "dataset", "space"]
Operation = Literal["info", "list_refs", "list_prs", "get_pr", "create_repo", "create_branch", "delete_branch",
                    "create_tag", "delete_tag", "create_pr", "merge_pr", "close_pr", "comment_pr",
                    "change_pr_status", "update_repo", "settings", "delete_repo"]
NEEDS_PR = {"get_pr", "merge_pr", "close_pr", "comment_pr", "change_pr_status"}
SHOW_EVENTS = 10


def _url(endpoint: str, repo_id: str, repo_type: str) -> str:
    return f"{endpoint}/{'' if repo_type == 'model' else repo_type + 's/'}{repo_id}"


def make_hf_repo_git(config: ToolsConfig) -> Tool:
    def api():  # a fresh client per call: the token may change between calls (login in another cell)
        return make_api(config.hf_endpoint, config.resolved_hf_token())

    async def hf_repo_git(operation: Operation, repo_id: str, ctx: ToolContext, repo_type: RepoType = "model",
                          branch: str | None = None, from_rev: str | None = None, tag: str | None = None,
                          tag_message: str | None = None, revision: str | None = None, title: str | None = None,
                          description: str | None = None, pr_num: int | None = None, comment: str | None = None,
                          status: Literal["open", "closed", "all"] = "all",
                          new_status: Literal["open", "closed"] | None = None, private: bool | None = None,
                          gated: Literal["auto", "manual", "false", False] | None = None,
                          space_sdk: Literal["gradio", "streamlit", "docker", "static"] | None = None) -> str:
        """Git-like work on a Hub repo: branches, tags, pull requests (open, review, publish, merge, close), repo
        creation (private by default; Spaces need space_sdk) and settings (visibility, gated access).

        Pull requests on the Hub: create_pr opens a *draft* (empty); push commits to it with hf_repo_files
        upload revision="refs/pr/<num>"; change_pr_status new_status="open" publishes it; merge_pr merges an open
        PR; get_pr shows status, author, target branch and the latest comments. Examples:
        {"operation": "create_pr", "repo_id": "org/model", "title": "Add eval results"};
        {"operation": "merge_pr", "repo_id": "me/model", "pr_num": 3, "comment": "thanks!"};
        {"operation": "create_repo", "repo_id": "me/demo", "repo_type": "space", "space_sdk": "gradio"}.
        Pitfalls: writes need the person's approval (merge, delete and visibility changes always a person's);
        a draft PR cannot be merged until it is opened; repo_id includes the namespace ("me/model").

        Args:
            operation: what to do, e.g. "list_prs", "get_pr", "create_pr", "merge_pr", "create_repo".
            repo_id: the repository with its namespace, e.g. "username/my-model".
            repo_type: "model" (default), "dataset" or "space".
            branch: create_branch / delete_branch: the branch name, e.g. "experiment-v2".
            from_rev: create_branch: the revision to start from (default main).
            tag: create_tag / delete_tag: the tag name, e.g. "v1.0".
            tag_message: create_tag: the tag's message.
            revision: create_tag: the revision to tag (default main); also a branch's start if from_rev is unset.
            title: create_pr: the pull request's title (required), e.g. "Fix tokenizer config".
            description: create_pr: the pull request's text.
            pr_num: get_pr / merge_pr / close_pr / comment_pr / change_pr_status: the PR or discussion number.
            comment: comment_pr: the comment (required); merge_pr / close_pr / change_pr_status: an optional note.
            status: list_prs: "open", "closed" or "all" (default).
            new_status: change_pr_status: "open" (publish a draft, or reopen) or "closed".
            private: create_repo / update_repo: visibility (new repos are private unless false is given).
            gated: update_repo: access requests, "auto", "manual" or "false".
            space_sdk: create_repo of a Space: "gradio", "streamlit", "docker" or "static" (required for Spaces).
        """
        client = api()
        base = config.hf_endpoint.rstrip("/")
        if operation in NEEDS_PR and not pr_num:
            raise ToolError(f"{operation} needs `pr_num` (see list_prs)")
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
                items = await call(lambda: list(client.get_repo_discussions(
                    repo_id, repo_type=repo_type, discussion_status=None if status == "all" else status)))
                return "\n".join(f"#{d.num} [{d.status}] {'PR' if d.is_pull_request else 'discussion'}: {d.title}"
                                 f" (by {d.author})" for d in items[:100]) or f"No {status} pull requests or discussions."
            case "get_pr":
                pr = await call(client.get_discussion_details, repo_id, int(pr_num or 0), repo_type=repo_type)
                lines = [f"{'PR' if pr.is_pull_request else 'Discussion'} #{pr.num}: {pr.title}",
                         f"status: {pr.status}; author: {pr.author}; created {pr.created_at:%Y-%m-%d}",
                         f"{_url(base, repo_id, repo_type)}/discussions/{pr.num}"]
                if pr.is_pull_request:
                    lines.append(f"target: {pr.target_branch}; conflicts: {pr.conflicting_files or 'none'}"
                                 + (f"; merge commit {pr.merge_commit_oid}" if pr.merge_commit_oid else ""))
                    if pr.status in ("draft", "open"):
                        lines.append(f'add commits with hf_repo_files upload revision="refs/pr/{pr.num}"'
                                     + ("; publish with change_pr_status new_status=\"open\""
                                        if pr.status == "draft" else ""))
                for event in pr.events[-SHOW_EVENTS:]:
                    text = getattr(event, "content", None) or getattr(event, "new_status", None) or \
                        getattr(event, "summary", None) or ""
                    lines.append(f"- {event.type} by {event.author}: {' '.join(str(text).split())[:300]}")
                return "\n".join(lines)
            case "create_repo":
                if repo_type == "space" and not space_sdk:
                    raise ToolError("a Space needs `space_sdk`: gradio, streamlit, docker or static")
                url = await call(client.create_repo, repo_id, repo_type=repo_type,
                                 private=True if private is None else private, exist_ok=False,
                                 space_sdk=space_sdk if repo_type == "space" else None, what="the Hub (create repo)")
                return f"Created {'private' if private is not False else 'public'} {repo_type} repo: {url}"
            case "create_branch" | "delete_branch":
                if not branch:
                    raise ToolError(f"{operation} needs `branch`")
                if operation == "create_branch":
                    await call(client.create_branch, repo_id, branch=branch, revision=from_rev or revision,
                               repo_type=repo_type)
                else:
                    await call(client.delete_branch, repo_id, branch=branch, repo_type=repo_type)
                return f"{operation.replace('_', ' ')} {branch!r} on {repo_id}: done"
            case "create_tag" | "delete_tag":
                if not tag:
                    raise ToolError(f"{operation} needs `tag`")
                if operation == "create_tag":
                    await call(client.create_tag, repo_id, tag=tag, revision=revision, tag_message=tag_message,
                               repo_type=repo_type)
                else:
                    await call(client.delete_tag, repo_id, tag=tag, repo_type=repo_type)
                return f"{operation.replace('_', ' ')} {tag!r} on {repo_id}: done"
            case "create_pr":
                if not title:
                    raise ToolError("create_pr needs `title`")
                pr = await call(client.create_pull_request, repo_id, title=title, description=description or "",
                                repo_type=repo_type)
                return (f"Opened draft PR #{pr.num} on {repo_id}: {pr.url}\nAdd commits with hf_repo_files upload "
                        f'revision="refs/pr/{pr.num}", then publish it with change_pr_status new_status="open".')
            case "merge_pr":
                await call(client.merge_pull_request, repo_id, int(pr_num or 0), comment=comment,
                           repo_type=repo_type, what="the Hub (merge)")
                return f"Merged PR #{pr_num} into {repo_id}."
            case "close_pr" | "change_pr_status":
                target = "closed" if operation == "close_pr" else new_status
                if target is None:
                    raise ToolError("change_pr_status needs `new_status`: open or closed")
                await call(client.change_discussion_status, repo_id, int(pr_num or 0), target, comment=comment,
                           repo_type=repo_type)
                return f"#{pr_num} on {repo_id} is now {target}."
            case "comment_pr":
                if not (comment and comment.strip()):
                    raise ToolError("comment_pr needs `comment`")
                await call(client.comment_discussion, repo_id, int(pr_num or 0), comment, repo_type=repo_type)
                return f"Commented on #{pr_num} of {repo_id}."
            case "delete_repo":
                await call(client.delete_repo, repo_id, repo_type=repo_type, what="the Hub (delete repo)")
                sandbox = ctx.services.sandbox
                if repo_type == "space" and sandbox is not None and getattr(sandbox, "repo_id", None) == repo_id:
                    end_sandbox(ctx, "deleted")  # its reservation is settled with the time it existed
                return f"Deleted {repo_type} repo {repo_id}."
            case "update_repo" | "settings":
                if private is None and gated is None:
                    raise ToolError(f"{operation} needs `private` and/or `gated`")
                gate = False if gated == "false" else gated
                await call(client.update_repo_settings, repo_id, private=private, gated=gate, repo_type=repo_type)
                return f"Settings of {repo_id} updated (private={private}, gated={gate})."
        raise ToolError(f"unknown operation {operation!r}")

    return Tool.from_function(hf_repo_git, resolver=visibility_resolver(config, "hf_repo_git"))
