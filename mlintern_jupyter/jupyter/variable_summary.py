"""Read-only summaries of kernel variables for `kernel_inspect`, safe against what the variables hold.

Nothing of the person's code runs: methods and properties are called only on known types (pandas, numpy,
torch), every other object is described from its type and instance `__dict__` (no `__repr__`, `__len__` or
property of a user class runs: on a lazy object those can start queries or downloads). Values whose name looks
secret (any dotted part, or a dict key) are masked and handed to `on_secret`, which registers them with the
session's redactor so they cannot come back through another tool either.
"""

from __future__ import annotations

import inspect
import os
import re
import reprlib
import types
from collections.abc import Callable
from typing import Any

PREVIEW_CHARS = 1_500
# Words of a name that mark a credential: db_password, HF_TOKEN, wandb_api, aws_secret_access_key, apiKey,
# session_cookie, dsn. Whole words, so `tokenizer_name` or `num_tokens` stay visible.
SECRET_WORDS = frozenset({"password", "passwd", "pass", "passphrase", "secret", "secrets", "token", "apikey", "api",
                          "key", "credential", "credentials", "creds", "cred", "auth", "authorization", "cookie",
                          "dsn", "signature", "bearer", "privatekey"})
MASK = "[masked: the name looks like a secret]"
KNOWN_LIBRARIES = frozenset({"pandas", "numpy", "torch"})
PLAIN = (str, bytes, int, float, complex, bool, type(None), list, tuple, dict, set, frozenset, range)
MAX_ITEMS = 50

OnSecret = Callable[[str, Any], None]


def looks_secret(name: str) -> bool:
    """Whether any word of any dotted part of `name` marks a credential."""
    words = re.split(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])", name)
    return any(word.lower() in SECRET_WORDS for word in words if word)


def is_environment(value: Any) -> bool:
    return value is os.environ or isinstance(value, type(os.environ)) or value is getattr(os, "environb", None)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit // 2]}\n… [{len(text) - limit} chars cut] …\n{text[-limit // 2:]}"


def type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _library(value: Any) -> str:
    return type(value).__module__.split(".")[0]


class _StaticRepr(reprlib.Repr):
    """reprlib for builtin containers and scalars; anything else is named, never asked for its repr."""

    def repr_instance(self, x: Any, level: int) -> str:
        if type(x) in (int, float, complex, bool, type(None)):
            return repr(x)
        return f"<{type_name(x)} object>"


def masked(value: Any, on_secret: OnSecret, depth: int = 0) -> Any:
    """A copy of builtin containers (bounded) with the values under secret-looking keys masked."""
    if depth > 4:
        return value
    if type(value) is dict:
        out = {}
        for i, (key, item) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                break
            if isinstance(key, str) and looks_secret(key):
                on_secret(key, item)
                out[key] = MASK
            else:
                out[key] = masked(item, on_secret, depth + 1)
        return out
    if type(value) in (list, tuple):
        return type(value)(masked(item, on_secret, depth + 1) for item in value[:MAX_ITEMS])
    return value


def safe_repr(value: Any, limit: int = PREVIEW_CHARS) -> str:
    short = _StaticRepr()
    short.maxstring, short.maxother, short.maxlist, short.maxdict = limit, limit, 20, 20
    try:
        return _clip(short.repr(value), limit)
    except Exception as exc:  # noqa: BLE001 - a broken value must not break the tool
        return f"<repr failed: {type(exc).__name__}>"


def _known_library_summary(value: Any, info: dict[str, Any]) -> None:
    """pandas / numpy / torch objects: their documented, side-effect-free accessors."""
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) or type(shape).__name__ == "Size":
        info["shape"] = list(shape)
    dtypes = getattr(value, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):
        items = list(dtypes.items())
        info["dtypes"] = {str(k): str(v) for k, v in items[:50]}
        if len(items) > 50:
            info["dtypes_more"] = len(items) - 50
    elif getattr(value, "dtype", None) is not None:
        info["dtype"] = str(value.dtype)
    try:
        if hasattr(value, "head") and _library(value) == "pandas":
            head = value.head(5)
            info["preview"] = _clip(head.to_string(max_cols=20, max_colwidth=40), PREVIEW_CHARS)
        else:
            info["preview"] = _clip(repr(value), PREVIEW_CHARS)
    except Exception as exc:  # noqa: BLE001
        info["preview"] = f"<preview failed: {type(exc).__name__}>"


def _instance_attributes(value: Any, on_secret: OnSecret) -> dict[str, str]:
    """Public attributes from the instance __dict__, read without running the object's code."""
    try:
        namespace = object.__getattribute__(value, "__dict__")
    except (AttributeError, TypeError):
        return {}
    if not isinstance(namespace, dict | types.MappingProxyType):
        return {}
    out: dict[str, str] = {}
    for name, item in list(namespace.items())[:MAX_ITEMS]:
        if not isinstance(name, str) or name.startswith("_"):
            continue
        if looks_secret(name):
            on_secret(name, item)
            out[name] = MASK
        else:
            out[name] = safe_repr(item, 120) if isinstance(item, PLAIN) else f"<{type_name(item)}>"
    return out


def summarize(value: Any, on_secret: OnSecret | None = None) -> dict[str, Any]:
    """Type, shape, dtypes, length and a bounded preview; methods run only on known types."""
    on_secret = on_secret or (lambda name, item: None)
    info: dict[str, Any] = {"type": type_name(value)}
    if inspect.isclass(value) or inspect.ismodule(value) or inspect.isroutine(value):
        doc = inspect.getattr_static(value, "__doc__", None)
        info["doc"] = (doc if isinstance(doc, str) else "").strip().split("\n\n")[0][:500]
        if isinstance(value, types.FunctionType | types.BuiltinFunctionType | types.MethodType):
            try:
                info["signature"] = f"{value.__name__}{inspect.signature(value)}"
            except (TypeError, ValueError):
                pass
        return info
    if _library(value) in KNOWN_LIBRARIES:
        if hasattr(value, "__len__"):
            try:
                info["len"] = len(value)
            except Exception:  # noqa: BLE001 - a 0-d array has no length
                pass
        _known_library_summary(value, info)
        return info
    if isinstance(value, PLAIN) and type(value) in PLAIN:
        if hasattr(value, "__len__"):
            info["len"] = len(value)
        info["preview"] = safe_repr(masked(value, on_secret))
        return info
    if isinstance(value, dict):  # a dict subclass (sklearn's Bunch): its keys, read by dict's own code
        keys = list(dict.keys(value))[:MAX_ITEMS]
        info["keys"] = [safe_repr(k, 80) for k in keys]
    attributes = _instance_attributes(value, on_secret)
    if attributes:
        info["attributes"] = attributes
    info["note"] = "a user-defined type: described from its attributes, none of its methods or properties ran"
    return info
