"""The engine imports nothing from Jupyter (STYLE rule 1), checked in a fresh interpreter."""

import subprocess
import sys

JUPYTER_MODULES = ("IPython", "ipywidgets", "traitlets", "comm", "ipykernel")


def test_engine_and_tools_import_no_jupyter_module() -> None:
    code = (
        "import sys, pkgutil, importlib\n"
        "import mlintern_jupyter.agent, mlintern_jupyter.tools, mlintern_jupyter.evaluation\n"
        "for pkg in (mlintern_jupyter.agent, mlintern_jupyter.tools, mlintern_jupyter.evaluation):\n"
        "    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if info.name.endswith('sandbox_server'): continue\n"
        "        importlib.import_module(info.name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {JUPYTER_MODULES!r}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
