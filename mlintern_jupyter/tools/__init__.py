"""Built-in tools. `default_tools(config)` builds the registry a session starts with.

Tool names and argument names follow ml-intern (DESIGN section 3). The notebook's own tools
(notebook_insert_cell, notebook_read, kernel_history, kernel_inspect) are added by the Jupyter layer; MCP
tools by `add_mcp_tools` (they need a connection, so they load asynchronously).
"""

from __future__ import annotations

from .config import SlackConfig, ToolsConfig, sends_hf_token
from .docs import make_docs_tools
from .github import make_github_tools
from .hub_repos import make_hub_repo_tools
from .hub_research import make_hub_research_tools
from .jobs import JobHandle, JobManager, make_hf_jobs
from .notify import SlackNotifier, make_notify, slack_listener
from .openapi import make_openapi_tools
from .papers import make_paper_tools
from .plan import plan_tools
from .registry import Tool, ToolContext, ToolError, ToolRegistry, ToolReturn, tool
from .research import make_research
from .sandbox import sandbox_tools
from .sandbox_remote import make_sandbox_create
from .web import make_web_search

__all__ = [
    "JobHandle", "JobManager", "SlackConfig", "SlackNotifier", "Tool", "ToolContext", "ToolError", "ToolRegistry",
    "ToolReturn", "ToolsConfig", "add_mcp_tools", "default_tools", "sends_hf_token", "slack_listener", "tool",
]  # fmt: skip


def default_tools(config: ToolsConfig | None = None) -> ToolRegistry:
    """The built-in tools, configured (endpoints, tokens, runtime default) by `config`."""
    config = config or ToolsConfig()
    registry = ToolRegistry()
    for item in [
        make_hf_jobs(config),
        *make_hub_research_tools(config),
        *make_paper_tools(config),
        *make_docs_tools(config),
        *make_openapi_tools(config),
        *make_hub_repo_tools(config),
        *make_github_tools(config),
        make_web_search(config),
        *plan_tools(),
        *sandbox_tools(),
        make_sandbox_create(config),
        make_notify(config),
        make_research(lambda: registry),
    ]:
        registry.register(item)
    return registry


async def add_mcp_tools(registry: ToolRegistry, config: ToolsConfig | None = None) -> tuple[set[str], list[str]]:
    """Register the tools of the MCP servers in $MLINTERN_HOME/config.json.

    Returns (read-only server names for `PolicyConfig.read_only_mcp_servers`, problems to show the person).
    """
    from .mcp import load_mcp_tools, read_only_servers

    config = config or ToolsConfig()
    tools, problems = await load_mcp_tools(config)
    for item in tools:
        if item.name in registry:
            problems.append(f"MCP tool {item.name} clashes with a tool already registered; skipped")
            continue
        registry.register(item)
    return read_only_servers(config), problems
