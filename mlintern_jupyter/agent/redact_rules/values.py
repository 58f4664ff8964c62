"""Is the value assigned to a secret-named key a secret? The verdict of the context rules (:mod:`.context`).

It weighs the key's class (:mod:`.keys`: how sure the key name is) against the value's shape (:mod:`.shapes`):
placeholders, references, templates, code, names and prose are left; generated-looking values, symbol-rich
strings and, under password keys, anything a person could have chosen are secrets. The operator matters:
comparisons, call arguments and list items need a quoted, credential-like value.
"""

from __future__ import annotations

import base64
import binascii
import re

from .keys import KeyClass
from .shapes import (
    PLACEHOLDER_RE,
    entropy,
    is_code_like,
    is_placeholder,
    is_reference,
    looks_like_password,
    looks_random,
    reads_as_name,
    word_fraction,
)

# Values are judged on their first characters only, so a megabyte-long value costs no more than a token.
MAX_JUDGED = 1024
COMPARE = frozenset({"==", "===", "!=", "!=="})
_CODE_VALUE_RE = re.compile(
    r"(?:new|await|lambda|function|fn|yield|not|await|typeof|sizeof|return)\b|[A-Za-z_$][\w.$]*+[ \t]*+[(\[{]|[\[{(]"
)
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_KEBAB_NAME_RE = re.compile(r"[a-z][a-z0-9]*+(?:[-.][a-z0-9]++)++")
_FILENAME_RE = re.compile(
    r"[\w./:~-]*\.(?:pem|crt|cer|der|key|pub|p12|pfx|jks|json|ya?ml|txt|py|cfg|conf|ini|toml|env|csv|log|sh|xml"
    r"|html?|js|ts|md|gpg|asc|enc|bin|db|sqlite|keystore|properties|exe|dll|so|dylib|whl|zip|tar|gz|tgz)"
)
# An unquoted value that is an expression: `passwd + 'x'`, `pw or default`, `token if x else y`, `f(x)`.
_CODE_EXPR_RE = re.compile(r"\s(?:[-+*/%]|\|\||&&|or|and|if|else|for|in|is|not)\s|[\"']|^[A-Za-z_$][\w$]*+(?:\.|\(|\[)")
# An identifier made of words (`hide_cookie2`, `authHeaderValue`): a variable, not a value.
_WORDY_IDENT_RE = re.compile(r"[A-Za-z_$][A-Za-z]*+[0-9]*+(?:_+[A-Za-z]++[0-9]*+)*+_*+")
# Format fields and template markers: `{name}`, `{self.arn(key_id)}`, `{x!r:>10}`, `#name#`.
_TEMPLATE_RE = re.compile(r"\{[A-Za-z_][\w.]*+(?:\([^(){}\n]*+\))?+(?:\[[^\[\]{}\n]*+\])?+(?:![rsa])?+(?::[^{}\n]*+)?+\}|#[A-Za-z_]\w*+#")
# Letters and underscores (`CURLOPT_READDATA`, `PAUSE`): an item of a list of names, as a name that reads
# as one (`cache_peer`) is.
_NAME_LIST_RE = re.compile(r"[A-Za-z_]++")
# The start of an object or dict literal (`{name:nH.$type`), cut by the value pattern at a comma.
_OBJECT_LITERAL_RE = re.compile(r"[{\[][ \t]*+(?:[A-Za-z_$][\w$]*+|\"[^\"\n]*+\"|'[^'\n]*+')[ \t]*+:")
_PACKAGE_RE = re.compile(r"@[a-z0-9][\w.-]*+/[\w.-]++(?::[\w.]++)?+")
_FLAG_RE = re.compile(r"--?[A-Za-z][A-Za-z-]*+(?:=.*)?")  # the next command-line flag, not a value


def is_basic_credential(value: str) -> bool:
    """Base64 of `user:password` (docker `auth`, Basic headers): printable text with a user before the colon,
    so prose like "Basic understanding" or "Basic Operations" (bytes that happen to hold a colon) is left."""
    if len(value) < 8 or len(value) % 4 == 1:
        return False
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    user, colon, password = decoded.partition(":")
    return bool(colon and password) and len(decoded) >= 5 and decoded.isprintable() and " " not in user


def _credential_like(v: str, min_len: int, strong: bool = True) -> bool:
    """Generated-looking, or a long run of letters and varied symbols with high entropy (`m{h}o)p$e]nob(...`)."""
    if _FILENAME_RE.fullmatch(v):
        return False
    if looks_random(v, min_len):
        return True
    symbols = [c for c in v if not c.isalnum()]
    if strong is False or "\\" in v or ("{" in v and re.search(r"\{\w*\}", v) and _well_nested(v)):  # "{}/{name}" templates
        return False
    return (
        len(v) >= 12 and len(symbols) >= 3 and len(set(symbols) - set("-_./ ")) >= 2
        and sum(map(str.isalpha, v)) >= 4 and entropy(v) >= 3.5
        and not any(map(str.isspace, v)) and not is_code_like(v) and "://" not in v
    )


def _is_prose(v: str) -> bool:
    parts = v.split()
    return "\\n" in v or len(parts) >= 6 or (len(parts) >= 3 and v.rstrip()[-1:] in ".!?:")


def _well_nested(v: str) -> bool:
    """Brackets open and close in order, as in code (`f(x[0])`); a generated password's seldom do."""
    stack: list[str] = []
    for c in v:
        if c in "([{":
            stack.append(c)
        elif c in ")]}" and (not stack or "([{"[")]}".index(c)] != stack.pop()):
            return False
    return not stack


def password_like(v: str, quoted: bool) -> bool:
    if not looks_like_password(v) or _is_prose(v) or _FILENAME_RE.fullmatch(v):
        return False
    if any(word in v.lower() for word in ("pass", "secret", "test", "example", "dummy")):  # 'somepass', 'test123'
        return False
    if v.isalpha() and v.islower() and (len(v) < 8 or not quoted):  # 'spam', 'xyzzy', a word in prose
        return False
    return quoted or not is_code_like(v)


def _variable_name(v: str) -> bool:
    """An identifier a person named (`hide_cookie2`, `authHeaderValue`, `token`), not letters that happen to
    end in digits (`KOTBpTmWRlfMhmy6`, a generated key)."""
    if not _WORDY_IDENT_RE.fullmatch(v):
        return False
    return "_" in v or len(v) < 12 or v.islower() or reads_as_name(v) or word_fraction(v) >= 0.3


def judge(kc: KeyClass, value: str, *, quoted: bool, op: str = "=", structured: bool = False) -> bool:
    """Is `value`, assigned to a key of class `kc` with operator `op`, a secret? `structured`: the key is a
    field of parsed data (a dict), so it is exactly the key and a short opaque token under it counts."""
    v = value.strip()[:MAX_JUDGED]
    if not v or PLACEHOLDER_RE.search(v) or is_placeholder(v) or is_reference(v):
        return False
    if v.isdigit():  # a count or an id; a long random number under a token key (Discord, Asana) is a secret
        return len(v) >= 16 and kc.tier in ("token", "secret", "password") and not kc.inner and len(set(v)) >= 6
    if structured and kc.tier == "token" and not kc.inner:
        return len(v) >= 8 and not any(map(str.isspace, v)) and not is_code_like(v) or _credential_like(v, 8)
    if _TEMPLATE_RE.search(v) and _well_nested(v):  # f"{registry_id}-token", "__cb_#name#"
        return False
    code = (_CODE_VALUE_RE.match(v) and _well_nested(v)) or _CODE_EXPR_RE.search(v) or _OBJECT_LITERAL_RE.match(v)
    if not quoted and (code or _variable_name(v) or _FLAG_RE.fullmatch(v)):
        return False
    if _PACKAGE_RE.fullmatch(v):  # `@jupyterlab/galata:IHelpers`: a package and a name in it
        return False
    if op == ":" and not quoted and (v.endswith(":") or (kc.tier != "password" and reads_as_name(v, min_words=3))):
        return False  # `Pass :meth:`, `key: PKCS12PrivateKeyTypes | None` (a role, a type annotation)
    if op == "," and (_NAME_LIST_RE.fullmatch(v) or reads_as_name(v)):
        return False  # ('CURLOPT_PASSWORD', 'CURLOPT_READDATA'): a list of names
    if op in COMPARE or op in ("(", ","):
        if not quoted or any(c in v for c in "\"'") or (_CODE_VALUE_RE.match(v) and _well_nested(v)):
            return False
        return _credential_like(v, 8) or (kc.tier == "password" and not kc.inner and password_like(v, True))
    if op == " ":
        return _credential_like(v, 12)
    if op == "header":  # what follows an Authorization header's scheme word
        return sum(map(str.isalnum, v)) >= 8 and (" " in v or _credential_like(v, 8) or is_basic_credential(v))
    if kc.tier == "weak" and _UUID_RE.fullmatch(v):  # `"session": "<uuid>"` in every Jupyter message
        return False
    if kc.tier in ("token", "weak") or (kc.inner and not quoted):
        return _credential_like(v, 16 if kc.tier == "weak" or kc.inner else 10, kc.tier != "weak") or (
            kc.kind == "AUTH" and is_basic_credential(v)
        )
    if kc.tier == "secret" and _KEBAB_NAME_RE.fullmatch(v) and not any(c.isdigit() for c in v[-6:]):
        return False  # `secret: my-db-secret`, a Kubernetes secret's name
    return password_like(v, quoted) or _credential_like(v, 8)


def unquote(raw: str) -> tuple[int, int, bool]:
    """(start offset, end offset, quoted) of the text inside a value's quotes."""
    if raw.startswith(("\\\"", "\\'")) and raw.endswith(raw[:2]) and len(raw) >= 4:
        return 2, len(raw) - 2, True
    i = 0
    while i < len(raw) and i < 2 and raw[i] in "@rRbBuUfF":
        i += 1
    if i < len(raw) and raw[i] in "\"'`" and len(raw) - i >= 2 and raw[-1] == raw[i]:
        return i + 1, len(raw) - 1, True
    return 0, len(raw), False
