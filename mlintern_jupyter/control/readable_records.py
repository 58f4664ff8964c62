"""Executed notebooks that read anywhere: the static record of each `%%intern` output wins over its widget view.

A `%%intern` cell's output carries a widget view (the live card) and, beside it, an escaped `text/html` and
`text/plain` record of the turn (`jupyter/view.py`). nbconvert (and GitHub's and nbviewer's renderers, which use
it) picks the widget view whenever the notebook stores that widget's state, and the view needs widget JavaScript
from the network: the record then renders blank. A headless writer (the quickstart runner, `mlintern run`, any
nbclient or papermill run) calls `static_records(notebook)` before saving: our outputs keep only the record,
and the widget state our views left in the notebook's metadata goes with them (other widgets are untouched).
"""

from __future__ import annotations

from typing import Any

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
METADATA_KEY = "mlintern"


def _is_ours(output: dict[str, Any]) -> bool:
    metadata = output.get("metadata")
    return isinstance(metadata, dict) and isinstance(metadata.get(METADATA_KEY), dict)


def static_records(notebook: Any) -> int:
    """Drop the widget view from every `%%intern` output that has a static record; returns how many changed.

    Only outputs written by our views (their metadata has `mlintern`) and only when they carry text to fall back
    on: an output would never be left empty. The widget models those views used are removed from the stored
    widget state (and the state itself when nothing is left in it, so GitHub's renderer finds no empty shell).
    """
    dropped: set[str] = set()
    changed = 0
    for cell in notebook.get("cells") or []:
        for output in cell.get("outputs") or []:
            data = output.get("data")
            if not (_is_ours(output) and isinstance(data, dict) and WIDGET_VIEW in data):
                continue
            if "text/html" not in data and "text/plain" not in data:
                continue
            view = data.pop(WIDGET_VIEW)
            if isinstance(view, dict) and isinstance(view.get("model_id"), str):
                dropped.add(view["model_id"])
            changed += 1
    _drop_widget_state(notebook, dropped)
    return changed


def _drop_widget_state(notebook: Any, model_ids: set[str]) -> None:
    widgets = (notebook.get("metadata") or {}).get("widgets")
    if not model_ids or not isinstance(widgets, dict):
        return
    stored = widgets.get(WIDGET_STATE)
    state = stored.get("state") if isinstance(stored, dict) else None
    if not isinstance(state, dict):
        return
    # A card's view is a box of child widgets (the ipywidgets fallback): its children, layouts and styles go too.
    pending = list(model_ids)
    while pending:
        model = state.pop(pending.pop(), None)
        if isinstance(model, dict):
            pending.extend(_references(model.get("state")))
    if not state:
        del widgets[WIDGET_STATE]
    if not widgets:
        del notebook["metadata"]["widgets"]


def _references(value: Any) -> list[str]:
    """The model ids a widget's state refers to (`IPY_MODEL_<id>` strings, in lists and dicts too)."""
    if isinstance(value, str):
        return [value.removeprefix("IPY_MODEL_")] if value.startswith("IPY_MODEL_") else []
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in _references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _references(item)]
    return []
