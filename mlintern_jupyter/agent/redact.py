"""Fail-closed secret redaction: known secret values (in their encoded forms) first, then pattern rules.

Every string bound for the model, the event log, a trace, a notebook output or an upload passes
:meth:`Redactor.redact`. Any internal failure raises :class:`RedactionError`; the unredacted input is never
returned, so callers refuse to write or send instead of leaking (ml-intern's redaction failed open).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import threading
from bisect import bisect_right
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from mlintern_jupyter.agent import redact_rules as rules
from mlintern_jupyter.agent.redact_rules import PLACEHOLDER_RE, placeholder

__all__ = ["RedactionError", "Redactor"]

# Shorter values would mask ordinary words and numbers all over the transcript.
MIN_SECRET_LEN = 8
_ENV_NAME_RE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD", re.IGNORECASE)
_LINE_BREAKS_RE = re.compile(r"[\r\n]+")
_NUMERIC_SECRET_KINDS = frozenset({"PASSWORD", "SECRET", "CREDENTIAL"})
# Values under these keys are identifiers or opaque provider blobs (approval nonces, call ids, digests, the
# signature of a thinking block and the data of a redacted one, which are replayed byte for byte): a
# random-looking string there is not masked for its shape alone (token shapes and known values still are).
_ID_KEY_RE = re.compile(
    r"(?i)(?:^|[_.-])(?:id|ids|uuid|nonce|sha|sha1|sha256|hash|digest|checksum|etag|revision|rev|commit|oid"
    r"|fingerprint|seq|signature|encrypted_content)$|^(?:id|nonce|sha|hash|data|signature)$"
)


class RedactionError(Exception):
    """Redaction could not be completed; the caller must not write or send the text."""


def _kind_name(kind: str) -> str:
    name = re.sub(r"[^A-Z0-9_]+", "_", kind.upper()).strip("_")[:64]
    return name or "SECRET"


def _encoded_forms(value: str) -> set[str]:
    """The forms a secret takes in logs: plain, base64 at each alignment, URL-, JSON- and HTML-escaped."""
    forms = {value, quote(value, safe=""), quote(value), quote_plus(value), json.dumps(value)[1:-1], html.escape(value)}
    raw = value.encode()
    for offset, skip in ((0, 0), (1, 2), (2, 3)):
        # Inside a larger blob the secret's bytes start at any offset mod 3; the characters that mix in
        # unknown neighbouring bytes (the first `skip` and any trailing partial group) are dropped.
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        core = encoded[skip : (offset + len(raw)) // 3 * 4]
        forms.add(core)
        forms.add(core.replace("+", "-").replace("/", "_"))
    stripped = {_LINE_BREAKS_RE.sub("", form) for form in forms}
    return {form for form in stripped if len(form) >= MIN_SECRET_LEN}


class Redactor:
    """A registry of known secret values plus pattern rules. Thread-safe; the registry only grows."""

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        # (form, kind), longest first; replaced wholesale on change so readers never see a partial update.
        self._forms: tuple[tuple[str, str], ...] = ()
        self._scanner = rules.compile_scanner()
        for kind, value in (secrets or {}).items():
            self.add_secret(value, kind)

    def __repr__(self) -> str:  # never the values
        return f"<Redactor: {len(self._values)} known secrets, {len(self._scanner)} rules>"

    def __len__(self) -> int:
        return len(self._values)

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, hf_token_path: str | os.PathLike[str] | None = None
    ) -> Redactor:
        """Collect HF_TOKEN (env or huggingface_hub's token file: `hf_token_path`, else $HF_TOKEN_PATH, else
        $HF_HOME/token, else ~/.cache/huggingface/token), GITHUB_TOKEN and every variable whose name contains
        KEY, TOKEN, SECRET or PASSWORD. Values shorter than 8 characters are skipped."""
        env = os.environ if environ is None else environ
        redactor = cls()
        for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "GITHUB_TOKEN"):
            if env.get(name):
                redactor.add_secret(env[name], "GITHUB_TOKEN" if name == "GITHUB_TOKEN" else "HF_TOKEN")
        if hf_token_path is None and env.get("HF_TOKEN_PATH"):
            hf_token_path = env["HF_TOKEN_PATH"]
        if hf_token_path is None:
            hf_home = env.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
            hf_token_path = os.path.join(hf_home, "token")
        try:
            token = Path(hf_token_path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            token = ""
        if token.strip():
            redactor.add_secret(token, "HF_TOKEN")
        for name, value in env.items():
            if value and _ENV_NAME_RE.search(name):
                redactor.add_secret(value, name)
        return redactor

    def add_secret(self, value: str, kind: str = "SECRET") -> bool:
        """Register an exact secret value; False if it is too short to be masked safely."""
        value = value.strip()
        if len(value) < MIN_SECRET_LEN:
            return False
        name = _kind_name(kind)
        with self._lock:
            if value in self._values:
                return True
            known = dict(self._forms)
            for form in _encoded_forms(value):
                known.setdefault(form, name)
            self._values.add(value)
            self._forms = tuple(sorted(known.items(), key=lambda item: -len(item[0])))
        return True

    def learn_from_text(self, text: str) -> list[str]:
        """Register token-shaped values found in text the user pasted; returns their kinds."""
        learned: list[str] = []
        seen: set[str] = set()  # (a value found twice, e.g. echoed, is one secret)
        for start, end, kind, _ in sorted(self._scanner.spans(text)):
            value = text[start:end]
            if value in seen:
                continue
            seen.add(value)
            if not PLACEHOLDER_RE.search(value) and self.add_secret(value, kind):
                learned.append(kind)
        return learned

    # --- redaction -------------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """Mask every known secret and secret-shaped value. Raises RedactionError; never fails open."""
        return self._redact(text, lone=True)

    def _redact(self, text: str, *, lone: bool) -> str:
        if not isinstance(text, str):
            raise RedactionError(f"redact() takes str, not {type(text).__name__}")
        try:
            out = self._redact_known(text)
            return self._apply_rules(out, lone=lone)
        except RedactionError:
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed on anything
            raise RedactionError(f"redaction failed: {type(exc).__name__}") from exc

    def redact_obj(self, obj: Any) -> Any:
        """Redact every string in nested dicts / lists / tuples; values under secret-named keys are masked
        whole. Types other than str, bytes, numbers, bool and None raise RedactionError."""
        try:
            return self._redact_obj(obj, None)
        except RedactionError:
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed (RecursionError on cycles, ...)
            raise RedactionError(f"redaction failed: {type(exc).__name__}") from exc

    def _redact_obj(self, obj: Any, mask: rules.KeyClass | None, lone: bool = True) -> Any:
        if obj is None or isinstance(obj, bool):
            return obj
        if isinstance(obj, str):
            if mask is not None and rules.judge(mask, obj, quoted=True, structured=True):
                return placeholder(mask.kind)
            return self._redact(obj, lone=lone)
        if isinstance(obj, int | float):
            # A numeric PIN or password is masked; `{"eos_token": 2}`-style ids and counts are not.
            return placeholder(mask.kind) if mask is not None and mask.kind in _NUMERIC_SECRET_KINDS else obj
        if isinstance(obj, bytes):
            return self._redact_obj(obj.decode("utf-8", errors="replace"), mask, lone).encode()
        if isinstance(obj, Mapping):
            out = {}
            for key, value in obj.items():
                inner, value_lone = mask, lone
                if isinstance(key, str):
                    inner = rules.classify_key(key) or mask
                    value_lone = lone and not _ID_KEY_RE.search(key)
                new_key = self.redact(key) if isinstance(key, str) else self._redact_obj(key, None)
                out[new_key] = self._redact_obj(value, inner, value_lone)
            return out
        if isinstance(obj, list | tuple | set | frozenset):
            items = [self._redact_obj(item, mask, lone) for item in obj]
            return items if isinstance(obj, list) else type(obj)(items)
        raise RedactionError(f"cannot redact a {type(obj).__name__}")

    def _redact_known(self, text: str) -> str:
        forms = self._forms
        if not forms:
            return text
        # Search a view of the text without line breaks, so a secret wrapped or split across lines is
        # found too, then map each hit back to the original positions (the break is masked with it).
        starts: list[int] = []  # view index where each removed run sits
        removed: list[int] = []  # characters removed up to and including that run
        total = 0
        for run in _LINE_BREAKS_RE.finditer(text):
            total += run.end() - run.start()
            starts.append(run.start() - (total - (run.end() - run.start())))
            removed.append(total)
        view = _LINE_BREAKS_RE.sub("", text) if starts else text

        def to_original(index: int) -> int:
            i = bisect_right(starts, index)
            return index + (removed[i - 1] if i else 0)

        spans: list[tuple[int, int, str]] = []
        for form, kind in forms:
            pos = view.find(form)
            while pos != -1:
                spans.append((to_original(pos), to_original(pos + len(form) - 1) + 1, kind))
                pos = view.find(form, pos + 1)
        return _replace_spans(text, spans)

    def _apply_rules(self, text: str, *, lone: bool = True) -> str:
        return rules.replace_spans(text, self._scanner.spans(text, lone=lone))


def _replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    if not spans:
        return text
    spans.sort()
    parts: list[str] = []
    cursor = 0
    cur_start, cur_end, cur_kind = spans[0]
    for start, end, kind in spans[1:]:
        if start < cur_end:  # overlapping hits merge into one placeholder
            cur_end = max(cur_end, end)
            continue
        parts += [text[cursor:cur_start], placeholder(cur_kind)]
        cursor = cur_end
        cur_start, cur_end, cur_kind = start, end, kind
    parts += [text[cursor:cur_start], placeholder(cur_kind), text[cur_end:]]
    return "".join(parts)
