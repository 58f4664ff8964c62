"""huggingface/ml-intern's system prompt and tool schemas, read from a clone of its repository for measuring.

Nothing of ml-intern is copied into this project: `bench_playbook.py` records only the figures (token counts,
concepts covered) derived here, and re-derives them when given a clone (`--reference PATH`). The specs are
module-level dict literals in its agent/tools/*.py; they are evaluated from the source with `ast` (literals,
string concatenation, f-strings, `", ".join(...)`, comprehensions over huggingface_hub's `SpaceHardware`),
never imported, so none of ml-intern's dependencies are needed.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path
from typing import Any

PROMPT_FILE = "agent/prompts/system_prompt_v3.yaml"  # the file ContextManager loads by default
# create_builtin_tools(local_mode=False), in its order: the sandbox tools first, then these.
BUILTIN_SPECS = [
    ("agent/tools/research_tool.py", "RESEARCH_TOOL_SPEC"), ("agent/tools/docs_tools.py", "EXPLORE_HF_DOCS_TOOL_SPEC"),
    ("agent/tools/docs_tools.py", "HF_DOCS_FETCH_TOOL_SPEC"), ("agent/tools/papers_tool.py", "HF_PAPERS_TOOL_SPEC"),
    ("agent/tools/web_search_tool.py", "WEB_SEARCH_TOOL_SPEC"),
    ("agent/tools/dataset_tools.py", "HF_INSPECT_DATASET_TOOL_SPEC"), ("agent/tools/plan_tool.py", "PLAN_TOOL_SPEC"),
    ("agent/tools/notify_tool.py", "NOTIFY_TOOL_SPEC"), ("agent/tools/jobs_tool.py", "HF_JOBS_TOOL_SPEC"),
    ("agent/tools/hf_repo_files_tool.py", "HF_REPO_FILES_TOOL_SPEC"),
    ("agent/tools/hf_repo_git_tool.py", "HF_REPO_GIT_TOOL_SPEC"),
    ("agent/tools/github_find_examples.py", "GITHUB_FIND_EXAMPLES_TOOL_SPEC"),
    ("agent/tools/github_list_repos.py", "GITHUB_LIST_REPOS_TOOL_SPEC"),
    ("agent/tools/github_read_file.py", "GITHUB_READ_FILE_TOOL_SPEC"),
]
# get_sandbox_tools() puts this before each of Sandbox.TOOLS' descriptions (agent/tools/sandbox_tool.py).
SANDBOX_PREFIX = ("Uses the session's active sandbox. A private cpu-basic sandbox is started automatically for normal "
                  "CPU work; call sandbox_create only for GPU or other non-default hardware.\n\n")


class _Unresolved:
    def __init__(self, name: str) -> None:
        self.name = name


class _Evaluator:
    """Evaluates the expression forms the spec modules use; anything else raises (that value is skipped)."""

    def __init__(self, names: dict[str, Any]) -> None:
        self.names = names

    def __call__(self, node: ast.AST) -> Any:
        match node:
            case ast.Constant(value=value):
                return value
            case ast.Dict(keys=keys, values=values):
                return {self(k): self(v) for k, v in zip(keys, values, strict=True) if k is not None}
            case ast.List(elts=elts) | ast.Tuple(elts=elts):
                return [self(e) for e in elts]
            case ast.Name(id=name):
                return self.names.get(name, _Unresolved(name))
            case ast.BinOp(left=left, op=ast.Add(), right=right):
                return self(left) + self(right)
            case ast.JoinedStr(values=values):
                return "".join(format(self(v.value)) if isinstance(v, ast.FormattedValue) else self(v) for v in values)
            case ast.Attribute(value=value, attr=attr):
                return getattr(self(value), attr)
            case ast.Call(func=ast.Attribute(value=value, attr="keys"), args=[]):
                return list(self(value).keys())
            case ast.Call(func=ast.Attribute(value=value, attr="join"), args=[arg]):
                return self(value).join(self(arg))
            case ast.Call(func=ast.Name(id="list"), args=[arg]):
                return list(self(arg))
            case ast.ListComp(elt=elt, generators=[ast.comprehension(target=ast.Name(id=var), iter=it, ifs=[])]):
                return [_Evaluator({**self.names, var: item})(elt) for item in self(it)]
        raise ValueError(type(node).__name__)


def _module_names(source: str) -> dict[str, Any]:
    from huggingface_hub import SpaceHardware

    names: dict[str, Any] = {"SpaceHardware": SpaceHardware}

    def walk(body: list[ast.stmt], into: dict[str, Any]) -> None:
        for statement in body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                    isinstance(statement.targets[0], ast.Name):
                try:
                    into[statement.targets[0].id] = _Evaluator(into)(statement.value)
                except Exception:  # noqa: BLE001 - not a literal we need
                    pass
            elif isinstance(statement, ast.ClassDef):
                scope = dict(into)
                walk(statement.body, scope)
                into[statement.name] = scope

    walk(ast.parse(source).body, names)
    return names


class Reference:
    def __init__(self, git_dir: Path, rev: str = "HEAD") -> None:
        self.git_dir, self.rev = Path(git_dir), rev

    def show(self, path: str) -> str:
        return subprocess.run(["git", "-C", str(self.git_dir), "show", f"{self.rev}:{path}"], capture_output=True,
                              text=True, check=True).stdout

    def commit(self) -> str:
        return subprocess.run(["git", "-C", str(self.git_dir), "rev-parse", self.rev], capture_output=True, text=True,
                              check=True).stdout.strip()

    def tools(self) -> list[dict[str, Any]]:
        """The 19 tools of its default (sandbox) mode, as {name, description, parameters}."""
        sandbox = _module_names(self.show("agent/tools/sandbox_client.py"))["Sandbox"]["TOOLS"]
        create = _module_names(self.show("agent/tools/sandbox_tool.py"))["SANDBOX_CREATE_TOOL_SPEC"]
        specs = [create] + [{"name": name, "description": SANDBOX_PREFIX + spec["description"],
                             "parameters": spec["parameters"]} for name, spec in sandbox.items()]
        for path, variable in BUILTIN_SPECS:
            specs.append(_module_names(self.show(path))[variable])
        return [{"name": s["name"], "description": s["description"], "parameters": s["parameters"]} for s in specs]

    def system_prompt(self, tools: list[dict[str, Any]]) -> str:
        """Its prompt as rendered for a session, with the session-context line it appends."""
        import yaml
        from jinja2 import Template

        template = yaml.safe_load(self.show(PROMPT_FILE))["system_prompt"]
        static = Template(template).render(tools=tools, num_tools=len(tools))
        return (f"{static}\n\n[Session context: Date=01-06-2026, Time=12:00:00.000, Timezone=CEST (UTC+02:00), "
                f"User=someone, Tools={len(tools)}]")
