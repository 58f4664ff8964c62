"""The notebook's side of the SESSION CONTEXT: its name and a one-line summary of the kernel.

Only names and type names of variables are read (never values, never properties), so nothing the person
computed or pasted into the kernel reaches the prompt.
"""

from __future__ import annotations

import os
import platform
import types
from datetime import datetime
from pathlib import PurePath
from typing import Any

from ..agent.session_context import KernelSummary, SessionFacts, build_session_context, system_prompt
from ..tools.config import ToolsConfig
from ..tools.hub_account import HubAccount
from .kernel_context import KernelContext

# IPython's own names in the user namespace, not the person's variables.
_IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})


def notebook_name(shell: Any, environ: Any = None) -> str | None:
    """The notebook's file name: jupyter_server tells the kernel through JPY_SESSION_NAME (ipykernel: __session__)."""
    environ = os.environ if environ is None else environ
    user_ns = getattr(shell, "user_ns", {}) or {}
    value = user_ns.get("__session__") or environ.get("JPY_SESSION_NAME")
    return PurePath(value).name if isinstance(value, str) and value else None


def kernel_summary(shell: Any, context: KernelContext) -> KernelSummary:
    user_ns = getattr(shell, "user_ns", {}) or {}
    hidden = getattr(shell, "user_ns_hidden", {}) or {}
    variables = []
    for name, value in list(user_ns.items()):
        if name.startswith("_") or name in _IPYTHON_NAMES or (name in hidden and hidden[name] is value):
            continue
        if isinstance(value, types.ModuleType):
            continue
        variables.append((name, type(value).__name__))
    last = context.cells[-1] if context.cells else None
    error = None
    if last is not None and last.error:
        # The traceback's last line starts with the exception's type: "KeyError: 'label'".
        error = last.error.strip().splitlines()[-1].split(":", 1)[0].strip() or None
    return KernelSummary(python=platform.python_version(), cells_run=len(context.cells), last_error=error,
                         variables=tuple(variables))


class SessionFactsSource:
    """Builds each new session's system prompt; the Hub account is fetched once per token and kept."""

    def __init__(self, shell: Any, context: KernelContext, config: ToolsConfig) -> None:
        self.shell = shell
        self.context = context
        self.config = config
        self.account = HubAccount()

    def facts(self, tool_count: int) -> SessionFacts:
        account = self.account.facts(self.config)
        now = datetime.now().astimezone()
        return SessionFacts(
            now=now, runtime=self.config.resolved_runtime(), tool_count=tool_count, has_token=account.has_token,
            hf_user=account.user, hf_orgs=account.orgs, hardware=account.hardware,
            hardware_source=account.hardware_source, notebook=notebook_name(self.shell),
            kernel=kernel_summary(self.shell, self.context), local_cpus=os.cpu_count(),
        )

    def system_prompt(self, tool_count: int) -> str:
        from ..agent.redact import Redactor

        # The environment's secrets by value (as the session's own redactor will know them) plus the rules.
        redact = Redactor.from_environment().redact
        return system_prompt(build_session_context(self.facts(tool_count), redact=redact))
