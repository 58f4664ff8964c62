"""mlintern-jupyter: an autonomous ML engineer that lives inside Jupyter.

`%load_ext mlintern_jupyter` registers the magics; everything heavy (litellm, widgets) loads on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def load_ipython_extension(ipython: Any) -> None:
    from .jupyter.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .jupyter.extension import unload

    unload(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "mlintern-jupyter"}]
