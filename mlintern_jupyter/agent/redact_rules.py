"""Pattern rules for :mod:`mlintern_jupyter.agent.redact`: token shapes and secret-named keys.

Every pattern is written to run in linear time on adversarial input: character classes with possessive
quantifiers (``{n,}+``, Python 3.11), no nested unbounded repetition, and either a literal prefix or a
cheap boundary check first. ``tests/test_redact.py`` checks this with hypothesis and a 1 MB timing test.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

PLACEHOLDER_RE = re.compile(r"\[REDACTED:[A-Z0-9_]{1,64}\]")


def placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"


# Left boundary: not inside a longer identifier, except right after an ANSI SGR code such as "\x1b[31m",
# whose trailing "m" would otherwise hide a coloured token from every prefix rule.
B = r"(?:(?<![A-Za-z0-9_])|(?<=[0-9;\[]m))"


def tok(prefix: str, body: str) -> str:
    """A token with a fixed-width prefix. The boundary check comes after the prefix so the regex engine
    can scan for the literal (a leading lookbehind makes every rule ~40x slower on 1 MB)."""
    return prefix + rf"(?:(?<![A-Za-z0-9_]{prefix})|(?<=[0-9;\[]m{prefix}))" + body


# Right boundary for fixed-length shapes.
E = r"(?![A-Za-z0-9])"
# "key" ["'] (:|=|=>) ["'] in config, JSON, shell and Python keyword-argument context.
SEP = r"[\"']?[ \t]*+(?:=>|:=|[:=])[ \t]*+[\"']?"


@dataclass(frozen=True)
class Rule:
    kind: str
    regex: re.Pattern[str]
    group: int = 0  # the group holding the secret; 0 = the whole match
    check: Callable[[str], bool] | None = None  # extra test on the secret; False = leave as is
    # Lower-case strings one of which must occur in the text for the rule to run: case-insensitive
    # context rules have no literal prefix for the regex engine to scan for, so this keeps them cheap.
    needles: tuple[str, ...] = ()

    def applies(self, lowered: str) -> bool:
        return not self.needles or any(needle in lowered for needle in self.needles)


def _has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


def _is_basic_credential(value: str) -> bool:
    """True when value is base64 of ``user:password`` (so prose like "Basic understanding" is left)."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


_SPECS: list[tuple] = [  # type: ignore[type-arg]  # (kind, pattern, group[, check[, needles]])
    # Multi-line and URL-shaped secrets first, so the token rules below see their placeholders.
    (
        "PRIVATE_KEY",
        r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[^-]++|-(?!----END))*+"
        r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
        0,
    ),
    ("SLACK_WEBHOOK", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{10,}+", 0),
    (
        "DISCORD_WEBHOOK",
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{5,}+"
        r"/[A-Za-z0-9_-]{20,}+",
        0,
    ),
    ("URL_PASSWORD", r"://[^\s/:@'\"<>\[\]]{1,256}+:([^\s/@'\"<>]{1,256}+)@", 1, None, ("://",)),
    ("URL_TOKEN", r"://(?=[^\s/@]{0,256}?[0-9])([A-Za-z0-9_.~-]{20,256}+)@", 1, None, ("://",)),
    ("AZURE_SAS", r"[?&]sig=([A-Za-z0-9%+/=]{20,}+)", 1, None, ("sig=",)),
    (
        "AUTH_HEADER",
        r"(?i:authorization|proxy-authorization|x-api-key|api-key)"
        + SEP
        + r"(?:(?i:bearer|basic|token|digest|bot|apikey)[ \t]++)?+([^\s\"',;\[]{6,}+)",
        1,
        None,
        ("authorization", "api-key"),
    ),
    ("BEARER_TOKEN", r"(?i:bearer)[ \t]++([A-Za-z0-9._~+/-]{16,}+=*+)", 1, _has_digit, ("bearer",)),
    ("BASIC_AUTH", r"(?i:basic)[ \t]++([A-Za-z0-9+/]{8,}+={0,2})", 1, _is_basic_credential, ("basic",)),
    ("PASSWORD", r"(?<![\w-])(?:-u|--user)[ =][\"']?[^\s:\"']{1,100}+:([^\s\"']{1,200}+)", 1, None, ("-u", "--user")),
    (
        "PASSWORD",
        r"auth[ \t]*=[ \t]*\([ \t]*(['\"])[^'\"\n]{0,100}+\1[ \t]*,[ \t]*(['\"])([^'\"\n]{1,200}+)\2",
        3,
        None,
        ("auth",),
    ),
    # Provider tokens with a distinctive prefix.
    ("HF_TOKEN", tok(r"hf_", r"[A-Za-z0-9]{30,}+"), 0),
    ("HF_TOKEN", tok(r"api_org_", r"[A-Za-z0-9]{30,}+"), 0),
    ("ANTHROPIC_KEY", tok(r"sk-ant-", r"[A-Za-z0-9_-]{20,}+"), 0),
    ("OPENAI_KEY", tok(r"sk-", r"[A-Za-z0-9_-]{20,}+"), 0),
    ("ELEVENLABS_KEY", tok(r"sk_", r"[a-f0-9]{48}" + E), 0),
    ("GITHUB_TOKEN", tok(r"gh[pousr]_", r"[A-Za-z0-9]{30,}+"), 0),
    ("GITHUB_TOKEN", tok(r"github_pat_", r"[A-Za-z0-9_]{30,}+"), 0),
    ("AWS_ACCESS_KEY", tok(r"(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA|APKA)", r"[A-Z0-9]{16}" + E), 0),
    (
        "AWS_SECRET",
        r"(?i:aws_?secret_?(?:access_?)?key(?:_?id)?|secret_?access_?key|aws_?secret)"
        + SEP
        + r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
        1,
        None,
        ("secret",),
    ),
    ("GOOGLE_API_KEY", tok(r"AIza", r"[0-9A-Za-z_-]{30,}+"), 0),
    ("GOOGLE_OAUTH_SECRET", tok(r"GOCSPX-", r"[A-Za-z0-9_-]{20,}+"), 0),
    ("GOOGLE_OAUTH_TOKEN", tok(r"ya29\.", r"[0-9A-Za-z_-]{20,}+"), 0),
    ("SLACK_TOKEN", tok(r"xox[abposre]-", r"[A-Za-z0-9-]{10,}+"), 0),
    ("SLACK_TOKEN", tok(r"xapp-", r"[0-9]-[A-Za-z0-9-]{10,}+"), 0),
    ("STRIPE_KEY", tok(r"(?:sk|rk|pk)_(?:live|test)_", r"[A-Za-z0-9]{16,}+"), 0),
    ("STRIPE_KEY", tok(r"whsec_", r"[A-Za-z0-9]{24,}+"), 0),
    ("JWT", tok(r"eyJ", r"[A-Za-z0-9_-]{8,}+\.eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]*+"), 0),
    ("WANDB_KEY", r"(?i:wandb_api_key|wandb[_-]?key)" + SEP + r"([A-Za-z0-9_-]{32,}+)", 1, None, ("wandb",)),
    (
        "WANDB_KEY",
        r"wandb[ \t]++login(?:[ \t]++--?[A-Za-z-]++(?:=[^\s]++)?)*+[ \t]++(?:local-)?([0-9a-f]{40,}+)",
        1,
        None,
        ("wandb",),
    ),
    ("WANDB_KEY", r"wandb\.login\([^)\n]{0,200}?key[ \t]*=[ \t]*[\"']([^\"'\n]{8,}+)[\"']", 1, None, ("wandb",)),
    ("WANDB_KEY", tok(r"wandb_v1_", r"[A-Za-z0-9_]{20,}+"), 0),
    ("NPM_TOKEN", tok(r"npm_", r"[A-Za-z0-9]{36,}+"), 0),
    ("PYPI_TOKEN", tok(r"pypi-", r"[A-Za-z0-9_-]{40,}+"), 0),
    ("GITLAB_TOKEN", tok(r"gl", r"(?:pat|dt|rt|ptt|cbt|ft|imt|oas|soat)-[A-Za-z0-9_-]{20,}+"), 0),
    ("TWILIO_KEY", tok(r"(?:AC|SK)", r"[0-9a-f]{32}" + E), 0),
    ("SENDGRID_KEY", tok(r"SG\.", r"[A-Za-z0-9_-]{16,}+\.[A-Za-z0-9_-]{16,}+"), 0),
    ("MAILGUN_KEY", tok(r"key-", r"[0-9a-f]{32}" + E), 0),
    ("MAILGUN_KEY", r"(?<![0-9a-f])[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}" + E, 0, None, ("-",)),
    ("DIGITALOCEAN_TOKEN", tok(r"do[opr]_v1_", r"[a-f0-9]{64}" + E), 0),
    ("AZURE_STORAGE_KEY", r"AccountKey=([A-Za-z0-9+/]{40,}+={0,2})", 1),
    (
        "AZURE_STORAGE_KEY",
        r"(?i:azure[A-Za-z0-9_]{0,30}?(?:key|secret))" + SEP + r"([A-Za-z0-9+/]{40,}+={0,2})",
        1,
        None,
        ("azure",),
    ),
    ("DATABRICKS_TOKEN", tok(r"dapi", r"[0-9a-f]{32}(?:-[0-9]++)?" + E), 0),
    ("REPLICATE_TOKEN", tok(r"r8_", r"[A-Za-z0-9]{30,}+"), 0),
    ("GROQ_KEY", tok(r"gsk_", r"[A-Za-z0-9]{40,}+"), 0),
    (
        "COHERE_KEY",
        r"(?i:cohere[_-]?(?:api[_-]?)?key|co_api_key)" + SEP + r"([A-Za-z0-9]{32,}+)",
        1,
        None,
        ("cohere", "co_api_key"),
    ),
    ("MISTRAL_KEY", r"(?i:mistral[_-]?(?:api[_-]?)?key)" + SEP + r"([A-Za-z0-9]{32,}+)", 1, None, ("mistral",)),
    ("TELEGRAM_BOT_TOKEN", r"(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_-]{30,}+", 0, None, (":aa",)),
    ("DISCORD_TOKEN", tok(r"[MNO]", r"[A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}+"), 0),
    ("PERPLEXITY_KEY", tok(r"pplx-", r"[A-Za-z0-9]{40,}+"), 0),
    ("XAI_KEY", tok(r"xai-", r"[A-Za-z0-9]{50,}+"), 0),
    ("CEREBRAS_KEY", tok(r"csk-", r"[A-Za-z0-9]{40,}+"), 0),
    ("TAVILY_KEY", tok(r"tvly-", r"(?:dev-|prod-)?[A-Za-z0-9]{20,}+"), 0),
    ("FIREWORKS_KEY", tok(r"fw_", r"[A-Za-z0-9]{20,}+"), 0),
    ("LANGSMITH_KEY", tok(r"lsv2_", r"(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}" + E), 0),
    ("SHOPIFY_TOKEN", tok(r"shp", r"(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + E), 0),
    ("ATLASSIAN_TOKEN", tok(r"ATATT3", r"[A-Za-z0-9_=-]{30,}+"), 0),
    ("POSTMAN_KEY", tok(r"PMAK-", r"[a-f0-9]{24}-[a-f0-9]{34}" + E), 0),
    ("LINEAR_KEY", tok(r"lin_api_", r"[A-Za-z0-9]{40,}+"), 0),
    ("NOTION_TOKEN", tok(r"secret_", r"[A-Za-z0-9]{43}" + E), 0),
    ("NOTION_TOKEN", tok(r"ntn_", r"[A-Za-z0-9]{40,}+"), 0),
    ("VAULT_TOKEN", tok(r"hv[sb]\.", r"[A-Za-z0-9_-]{24,}+"), 0),
    ("DOPPLER_TOKEN", tok(r"dp\.", r"(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}+"), 0),
    ("GRAFANA_TOKEN", tok(r"glc_", r"[A-Za-z0-9+/]{32,}+={0,2}"), 0),
    ("GRAFANA_TOKEN", tok(r"glsa_", r"[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"), 0),
    ("NEWRELIC_KEY", tok(r"NRAK-", r"[A-Z0-9]{27}" + E), 0),
    ("SENTRY_TOKEN", tok(r"sntr[ysu]s_", r"[A-Za-z0-9+/=_-]{30,}+"), 0),
    ("PULUMI_TOKEN", tok(r"pul-", r"[a-f0-9]{40}" + E), 0),
    ("DOCKER_TOKEN", tok(r"dckr_pat_", r"[A-Za-z0-9_-]{20,}+"), 0),
    ("AGE_SECRET_KEY", r"AGE-SECRET-KEY-1[0-9A-Z]{58}", 0),
    ("ANYSCALE_KEY", tok(r"esecret_", r"[A-Za-z0-9]{20,}+"), 0),
    ("KAGGLE_KEY", r"\"key\"[ \t]*:[ \t]*\"([0-9a-f]{32})\"", 1, None, ('"key"',)),
]


def _compile(spec: tuple) -> Rule:  # type: ignore[type-arg]
    kind, pattern, group, *rest = spec
    check = rest[0] if rest else None
    needles = rest[1] if len(rest) > 1 else ()
    return Rule(kind, re.compile(pattern), group, check, needles)


def compile_rules() -> tuple[Rule, ...]:
    return tuple(_compile(spec) for spec in _SPECS)


# --- secret-named keys -------------------------------------------------------------------------------------

# Keywords a key must END with (case-insensitive) for its value to be masked, and the placeholder kind.
# "key" alone is the weak tier: `sort_key`, `cache_key` are common, so their values are masked only when
# they look random (see `looks_random`).
KEY_KINDS: dict[str, str] = {
    "password": "PASSWORD",
    "passwd": "PASSWORD",
    "passphrase": "PASSWORD",
    "secret": "SECRET",
    "token": "TOKEN",
    "apikey": "API_KEY",
    "api_key": "API_KEY",
    "api-key": "API_KEY",
    "auth": "AUTH",
    "authorization": "AUTH",
    "credential": "CREDENTIAL",
    "credentials": "CREDENTIAL",
    "cookie": "COOKIE",
    "key": "KEY",
}
_KEY_LOOKBEHINDS = "|".join(f"(?<={re.escape(k)})" for k in sorted(KEY_KINDS, key=len, reverse=True))
_KEY_END = f"(?:{_KEY_LOOKBEHINDS})"

# Keys ending in "token" whose values are vocabulary entries, not credentials (`pad_token="<pad>"`). Kept to
# tokenizer words: `user_token` or `session_token` may well be credentials.
BENIGN_TOKEN_KEY_RE = re.compile(
    r"(?i)(?:^|[_.-])(?:pad|eos|bos|unk|sep|cls|mask|special|start|end|image|img|audio|video|vision|default"
    r"|chat|stop|think|eot|eom|boi|eoi|boa|eoa|decoder_start|additional|sentinel|prefix|suffix|middle|fim"
    r"|separator|im_start|im_end|bod|eod|pause|placeholder|newline|dummy|reserved)[_-]?token$"
)

_QUOTED = r"\"(?:[^\"\\\n]|\\.)*+\"|'(?:[^'\\\n]|\\.)*+'|\\\"(?:[^\"\\\n]|\\[^\"\n])*+\\\""
_UNQUOTED = r"(?:(?i:bearer|basic|token|digest)[ \t]++(?=[^\s\[]))?+[^\s\"'`,;&<>(){}\[\]|]++"
# A value: Python string (with r/b/f prefix), JSON string, `${VAR}` reference, or a bare word.
_VALUE = r"(?P<prefix>[rbfu]{1,2}(?=[\"']))?(?:" + _QUOTED + r")|\$\{[A-Za-z0-9_]{0,80}\}|" + _UNQUOTED

# key = value / "key": "value" / key: value / key => value
KEY_VALUE_RE = re.compile(
    r"(?i)(?<![A-Za-z0-9_.-])(?P<q>\\?[\"'`]?)(?P<key>[A-Za-z0-9_.-]{1,80}+" + _KEY_END + r")(?P=q)"
    r"[ \t]*+(?>=>|:=|:|=(?!=))[ \t]*+(?P<value>" + _VALUE + ")"
)
# --key value / --key=value / -p value (command lines)
CLI_FLAG_RE = re.compile(
    r"(?i)(?<![\w-])--?(?P<key>[A-Za-z0-9_-]{1,80}+" + _KEY_END + r")(?>=|[ \t]++)(?P<value>" + _VALUE + ")"
)
SECRET_KEY_NAME_RE = re.compile(r"(?i)[A-Za-z0-9_.-]{0,80}+" + _KEY_END)

_BENIGN_LITERALS = frozenset(
    {
        "true",
        "false",
        "none",
        "null",
        "nil",
        "yes",
        "no",
        "on",
        "off",
        "undefined",
        "required",
        "optional",
        "str",
        "bytes",
        "int",
        "float",
        "bool",
        "dict",
        "list",
        "tuple",
        "any",
        "object",
        "union",
        "secretstr",
        "secretbytes",
        "literal",
        "mapping",
        "sequence",
        "callable",
    }
)
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*+(?:\.[A-Za-z_][A-Za-z0-9_]*+)*+")
_REF_RE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%[A-Za-z_][A-Za-z0-9_]*%|\{\{[^{}]*\}\}|\$\([^()]*\)")
_SPECIAL_TOKEN_RE = re.compile(r"<\|?[^<>|]{0,40}\|?>|\[[A-Z_]{2,16}\]")
_NUMBER_RE = re.compile(r"[-+]?[0-9][0-9_]*(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def key_kind(key: str) -> str | None:
    """The placeholder kind for a secret-named key, "KEY" for the weak tier, or None."""
    lowered = key.lower()
    if not SECRET_KEY_NAME_RE.fullmatch(lowered):
        return None
    if BENIGN_TOKEN_KEY_RE.search(lowered):
        return None
    for word in sorted(KEY_KINDS, key=len, reverse=True):
        if lowered.endswith(word):
            return KEY_KINDS[word]
    return None


def looks_random(value: str) -> bool:
    """A value that reads like a generated credential: long, no spaces, letters and digits mixed."""
    return (
        len(value) >= 16
        and not any(c.isspace() for c in value)
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
    )


def value_is_benign(key: str, value: str, *, quoted: bool, followed_by: str = "", fstring: bool = False) -> bool:
    """True when the value under a secret-named key is clearly not a secret (literal, reference, code)."""
    v = value.strip()
    if fstring and "{" in v:  # f"Bearer {token}": an expression; token-shaped literals were masked before
        return True
    if not v or v.lower() in _BENIGN_LITERALS or _NUMBER_RE.fullmatch(v) or _REF_RE.fullmatch(v):
        return True
    if PLACEHOLDER_RE.fullmatch(v) or set(v) <= set("*xX.-_ "):
        return True
    if key.lower().endswith("token") and _SPECIAL_TOKEN_RE.fullmatch(v):
        return True
    if not quoted and _IDENT_RE.fullmatch(v):
        lowered = v.lower()
        # Code, not a value: `args.token`, `getpass()`, `environ[...]`, or passing a variable along
        # (`token=hf_token`, `api_key=API_KEY`).
        if "." in v or followed_by[:1] in ("(", "[") or any(lowered.endswith(k) for k in KEY_KINDS):
            return True
    return False
