"""`%load_ext mlintern_jupyter`: register the magics (one NotebookAgent per shell) and the comm target."""

from __future__ import annotations

from typing import Any

from .magic import InternMagics


def _instance(ipython: Any) -> InternMagics | None:
    found = ipython.magics_manager.registry.get("InternMagics")
    return found if isinstance(found, InternMagics) else None


def load(ipython: Any) -> None:
    if _instance(ipython) is not None:
        return  # %load_ext twice keeps the session
    magics = InternMagics(shell=ipython, parent=ipython)
    ipython.register_magics(magics)
    magics.agent.start()
    # litellm takes about 4 s to import: start now, on a daemon thread, so a %%intern typed a few seconds later
    # reaches its first model request without waiting (the main thread never imports it here).
    from ..agent.models.litellm_model import preload

    preload()


def unload(ipython: Any) -> None:
    magics = _instance(ipython)
    if magics is None:
        return
    magics.agent.close()
    ipython.magics_manager.registry.pop("InternMagics", None)
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("intern", None)
