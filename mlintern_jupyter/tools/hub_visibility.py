"""Before the card of a Hub write: is the target repo public? Asked of the Hub itself, never guessed.

Under `auto`, `hf_repo_files upload` into an existing public repo used to be approved by policy; chained with a
copy of the token file, that published the token. The resolver below asks the Hub for the repo's visibility
before any card; the policy never approves a write into a public repo (or one whose visibility could not be
checked: fail closed), and the card says PUBLIC.
"""

from __future__ import annotations

from typing import Any

from ..agent.policy import REPO_FILE_READS, REPO_GIT_READS
from .config import ToolsConfig
from .jobs.hf import call, make_api
from .registry import Resolved, Resolver, ToolContext, ToolError

READS = {"hf_repo_files": REPO_FILE_READS, "hf_repo_git": REPO_GIT_READS}


async def repo_visibility(config: ToolsConfig, repo_id: str, repo_type: str) -> str:
    """The repo's visibility: public, private, or unknown (not found, not allowed, unreachable: treated as public)."""
    api = make_api(config.hf_endpoint, config.resolved_hf_token())
    try:
        info = await call(api.repo_info, repo_id, repo_type=repo_type, what="the Hub (repo visibility)")
    except ToolError:
        return "unknown"
    private = getattr(info, "private", None)
    return "private" if private is True else "public" if private is False else "unknown"


def visibility_resolver(config: ToolsConfig, tool: str) -> Resolver:
    """The resolver of a Hub repo tool: reads pass as they are; a write learns its repo's visibility."""
    reads = READS[tool]

    async def resolve(arguments: dict[str, Any], ctx: ToolContext) -> Resolved:
        operation = str(arguments.get("operation") or "")
        if operation in reads:
            return Resolved(arguments)
        if operation == "create_repo":  # a new repo: private unless the call says private=false
            return Resolved(arguments, visibility="public" if arguments.get("private") is False else "private")
        repo_id, repo_type = str(arguments.get("repo_id") or ""), str(arguments.get("repo_type") or "model")
        visibility = await repo_visibility(config, repo_id, repo_type) if repo_id else "unknown"
        return Resolved(arguments, visibility=visibility, note=f"{repo_id} is {visibility.upper()} on the Hub"
                        if visibility != "unknown" else f"the visibility of {repo_id} could not be checked")

    return resolve
