"""The engine imports nothing from Jupyter (STYLE rule 1), checked in a fresh interpreter."""

import subprocess
import sys

JUPYTER_MODULES = ("IPython", "ipywidgets", "traitlets", "comm", "ipykernel")


def test_engine_tools_and_command_channel_import_no_jupyter_module() -> None:
    # The command channel too: a console script sends the same commands to the same dispatcher without a kernel.
    code = (
        "import sys, pkgutil, importlib\n"
        "import mlintern_jupyter.agent, mlintern_jupyter.tools, mlintern_jupyter.evaluation, mlintern_jupyter.control\n"
        "for pkg in (mlintern_jupyter.agent, mlintern_jupyter.tools, mlintern_jupyter.evaluation,\n"
        "            mlintern_jupyter.control):\n"
        "    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if info.name.endswith('sandbox_server'): continue\n"
        "        importlib.import_module(info.name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {JUPYTER_MODULES!r}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _engine_imports() -> dict[str, set[str]]:
    """Module -> engine modules it imports (TYPE_CHECKING and function-level imports included)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "mlintern_jupyter" / "agent"
    names = {f.relative_to(root).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
             for f in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name in names:
        path = root / (name.replace(".", "/") + ".py")
        if not path.exists():
            path = root / name.replace(".", "/") / "__init__.py"
        package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                if node.level > len(package) + 1:
                    deps.add(f"<outside the engine: {node.module}>")
                    continue
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                candidates = [target] if node.module else [".".join([*base, a.name]) for a in node.names]
                deps |= {c for c in candidates if c in names}
        graph[name] = deps - {name}
    return graph


# Known exception, from the security work (issue 11): the policy asks the tools package, inside two functions,
# whether an OS sandbox can run and whether a URL is a docs page. To be inverted (passed in) by a later pass.
ALLOWED_OUTSIDE = {("policy", "<outside the engine: tools.os_sandbox>"), ("policy", "<outside the engine: tools.config>")}


def test_the_engine_has_no_import_cycles_and_does_not_import_the_tools() -> None:
    graph = _engine_imports()
    outside = {(k, d) for k, deps in graph.items() for d in deps if d.startswith("<outside")}
    assert outside <= ALLOWED_OUTSIDE, outside - ALLOWED_OUTSIDE
    graph = {k: {d for d in deps if not d.startswith("<outside")} for k, deps in graph.items()}
    # The cycle the issue named is gone: session -> loop -> context -> core, nothing back.
    assert "session" not in graph["loop"] | graph["context"] | graph["core"]
    assert "loop" not in graph["context"] | graph["core"]
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        assert node not in visiting, " -> ".join([*visiting[visiting.index(node):], node])
        visiting.append(node)
        for dep in sorted(graph[node]):
            visit(dep)
        visiting.pop()
        done.add(node)

    for module in sorted(graph):
        visit(module)


def test_the_comm_and_the_controller_do_not_import_each_other() -> None:
    """The comm is given the dispatcher; it names neither the controller nor the magics (issue 12)."""
    from pathlib import Path

    jupyter = Path(__file__).resolve().parents[1] / "mlintern_jupyter" / "jupyter"
    comm = (jupyter / "comm.py").read_text()
    assert "controller" not in comm and "NotebookAgent" not in comm
    assert len((jupyter / "controller.py").read_text().splitlines()) < 400
