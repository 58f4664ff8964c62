"""Is a key name (variable, field, header, flag, element) one whose value is a secret, and of which kind?

A key is split into words (`AWS_BEARER_TOKEN_BEDROCK` -> aws, bearer, token, bedrock; `clientSecret` ->
client, secret). A secret keyword may sit anywhere in it. What the key's last word says decides how sure we
are: `db_password` (keyword last) masks any real-looking value, `password_hash`/`token_count`/`secret_name`
(a descriptive last word) mask nothing, and `AWS_BEARER_TOKEN_BEDROCK` (keyword inside) masks only values
that look generated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .shapes import wordset

Tier = Literal["password", "secret", "token", "weak"]


@dataclass(frozen=True)
class KeyClass:
    kind: str  # placeholder kind
    tier: Tier  # how much evidence the value itself must add (see context.judge)
    inner: bool = False  # the keyword is not the key's last word (`AWS_BEARER_TOKEN_BEDROCK`)


# Whole words that are secret keywords, with their kind and tier.
_WORDS: dict[str, tuple[str, Tier]] = {
    "password": ("PASSWORD", "password"),
    "passwd": ("PASSWORD", "password"),
    "passphrase": ("PASSWORD", "password"),
    "passwort": ("PASSWORD", "password"),
    "contraseña": ("PASSWORD", "password"),
    "contrasena": ("PASSWORD", "password"),
    "pwd": ("PASSWORD", "password"),
    "pass": ("PASSWORD", "password"),
    "pw": ("PASSWORD", "password"),
    "secret": ("SECRET", "secret"),
    "secrets": ("SECRET", "secret"),
    "token": ("TOKEN", "token"),
    "apikey": ("API_KEY", "token"),
    "credential": ("CREDENTIAL", "token"),
    "credentials": ("CREDENTIAL", "token"),
    "creds": ("CREDENTIAL", "token"),
    "cred": ("CREDENTIAL", "token"),
    "auth": ("AUTH", "token"),
    "authorization": ("AUTH", "token"),
    "cookie": ("COOKIE", "token"),
    "sessionid": ("COOKIE", "token"),
    "key": ("KEY", "weak"),
    "session": ("COOKIE", "weak"),
    # Not "signature": a model's thinking blocks carry one that must be replayed byte for byte.
}
# Compound lower-case words ending in a keyword: `pgpassword`, `authtoken`, `githubtoken`, `clientsecret`.
_SUFFIXES = ("password", "passwd", "secret", "token", "apikey", "accesskey", "secretkey", "privatekey", "authkey")
# Words before "key" that make it a credential (`private_key`, `access_key`), and before "key"/"token"/"secret"
# that make it public or not a credential at all (`public_key`, `sort_key`, `next_token`, `csrf_token`).
_STRONG_KEY_QUALIFIERS = wordset(
    "api private secret access signing encryption encrypt master client consumer app account license licence "
    "subscription service shared storage webhook hmac jwt auth session admin root deploy ssh pgp gpg wallet "
    "mnemonic seed refresh bearer write"
)
_PUBLIC_QUALIFIERS = wordset(
    "public pub publishable primary foreign partition sort cache dict lookup index unique row column schema "
    "bucket object group idempotency dedup hot natural sequence kms next page pagination continuation cursor "
    "sync csrf xsrf pad eos bos unk sep cls mask special start end image img audio video vision default chat "
    "stop think eot eom boi eoi boa eoa additional sentinel prefix suffix middle fim separator pause newline "
    "dummy reserved placeholder decoder bod eod sort_by group_by foreign primary composite surrogate map "
    "hash routing shard dataset split label query sharding rotary authenticity socket websocket s3 starting lock "
    "request change lifecycle action output input"
)
# Last words that describe the secret rather than hold it (`token_count`, `secret_name`, `password_hash`).
_DESCRIPTIVE = wordset(
    "name names id ids url uri urls endpoint endpoints host hosts path paths file files filename filepath dir "
    "directory type types kind kinds length len size sizes count counts num number numbers field fields header "
    "headers env var vars variable variables ref refs reference arn policy policies format prefix suffix "
    "template hash hashed hasher digest provider providers mode modes version label labels expiry expires "
    "expiration expire expired expiresin ttl timeout lifetime age store manager managers class cls enabled "
    "enable disabled required min max limit limits budget index idx indices position pos offset offsets pattern "
    "regex re map mapping dict list set cache callback handler factory builder fn func function method getter "
    "setter source location loc param params parameter parameters option options config configuration settings "
    "setting schema spec obj object input output prompt message msg hint help description desc doc title "
    "placeholder example usage stats rate ratio per logprob logprobs prob probs probability embedding embeddings "
    "emb vocab vocabulary counter dim dims dimension shape window stride step steps threshold level strength rule "
    "rules validator validation check checker column col table query error errors exception status state valid "
    "invalid mask masks logits weight weights bias proj projection layer layers head heads norm states values "
    "ids used usage reset change changed update updated rotation rotate length min_length max_length file_path "
    "strategy strategies generator gen util utils helper helpers test tests mock example examples selector "
    "alias aliases bits dtype attr attribute attributes event events pair pairs press pressed code codes board "
    "frame mesh ring word words stone up down left right binding bindings stdin prompted ok flag flags unit "
    "units validity duration"
)
# Last words that still name the secret's value (`token_value`, `password_plain`, `secret_b64`).
_VALUE_WORDS = wordset("value val str string data b64 base64 hex raw plain text bytes enc encrypted encoded")

_SPLIT_RE = re.compile(r"[A-Z]?[a-zñ]+|[A-Z]+(?![a-zñ])|[0-9]+")


def words(key: str) -> list[str]:
    """`AWS_BEARER_TOKEN_BEDROCK` -> [aws, bearer, token, bedrock]; `apiKey` -> [api, key]."""
    out: list[str] = []
    for part in re.split(r"[^A-Za-z0-9ñÑ]+", key):
        out.extend(w.lower() for w in _SPLIT_RE.findall(part))
    return [w for w in out if not w.isdigit()]


def _word_class(word: str, previous: str | None) -> tuple[str, Tier] | None:
    hit = _WORDS.get(word)
    if hit is None:
        for suffix in _SUFFIXES:
            if word.endswith(suffix):  # also the bare compound: `SUMOLOGIC_ACCESSKEY`, `secretkey`
                hit = _WORDS.get(suffix) or ("API_KEY", "token")
                break
    if hit is None:  # `secrete`, `passwordvalue`: a password/secret word with an unknown ending
        for head in ("password", "passwd", "secret"):
            if word.startswith(head) and word[len(head) :] not in _DESCRIPTIVE:
                hit = _WORDS[head]
                break
    if hit is None:
        return None
    if previous in _PUBLIC_QUALIFIERS:
        return None
    if hit[1] == "weak" and word == "key":
        if previous == "api":
            return ("API_KEY", "token")
        if previous in _STRONG_KEY_QUALIFIERS:
            return ("KEY", "token")
    return hit


_OBJECT_SETTERS = frozenset({"assign", "set", "put", "value", "val"})


def classify_key(key: str) -> KeyClass | None:
    """The kind and tier of a secret-named key, or None for any other key."""
    # An attribute path names its last parts: `spring.datasource.password` is a password, `heroku.api.key` an
    # API key, `_PassArg.environment` an environment; a setter names its object (`secret.assign(`).
    parts = [p for p in re.split(r"\.|->|::", key.strip("\"'`")) if p]
    while len(parts) > 1 and parts[-1].lower() in _OBJECT_SETTERS:
        parts.pop()
    ws = words("_".join(parts[-2:]) if parts else key)
    if not ws or "public" in ws or "publishable" in ws:  # `publicKeyToken` (.NET), `public_api_key`: public
        return None
    if key in ("PWD", "OLDPWD"):  # the shell's working directory
        return None
    while len(ws) > 1 and ws[-1] in _VALUE_WORDS:
        ws = ws[:-1]
    last = _word_class(ws[-1], ws[-2] if len(ws) > 1 else None)
    if last is not None:
        kind, tier = last
        if "aws" in ws and kind in ("SECRET", "KEY"):
            kind = "AWS_SECRET"
        return KeyClass(kind, tier)
    if ws[-1] in _DESCRIPTIVE:
        return None
    for i in range(len(ws) - 2, -1, -1):
        found = _word_class(ws[i], ws[i - 1] if i else None)
        # A weak keyword inside a longer name (`key_down_event`, `session_manager`) says nothing, nor does
        # `pass` leading one (`pass_zero`, `PassArg`: the verb; `db_pass_secure` is a password).
        if found is not None and found[1] != "weak" and (ws[i] != "pass" or i > 0) and ws[i + 1] not in _DESCRIPTIVE:
            return KeyClass(found[0], found[1], inner=True)
    return None
