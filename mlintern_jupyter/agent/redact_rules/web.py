"""Credentials in URLs, bare auth schemes and command lines: found by a literal (`://`, `bearer`, `-u`)
rather than by a key name."""

from __future__ import annotations

from .rule import TokenRule, inner
from .shapes import is_reference, looks_like_password, looks_random
from .values import is_basic_credential


def _has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


def _url_password(value: str) -> bool:
    if is_reference(value) or value.isdigit() or (value.isalpha() and value.islower() and len(value) < 8):
        return False  # `$PASS`, a port-like number, `http://evil:thing@example.com` in docs
    return looks_like_password(value)


def _cli_password(value: str) -> bool:
    """`-u user:pass`: not `1000:1000` (docker user:group), `$USER:$PASS` or `{{ x }}`."""
    v = value.strip("\"'")
    return len(v) >= 3 and not v.isdigit() and not is_reference(v) and looks_like_password(v + "xx")


WEB_RULES: list[TokenRule] = [
    inner("URL_PASSWORD", r"://[^\s/:@'\"<>\[\]]{0,256}+:([^\s/@'\"<>]{1,256}+)@", "://", group=1,
          check=_url_password, src="detect-secrets basic_auth; trufflehog uri, ftp, redis, mongodb, postgres"),
    inner("URL_TOKEN", r"://(?=[^\s/@]{0,256}?[0-9])([A-Za-z0-9_.~-]{20,256}+)@", "://", group=1,
          check=lambda v: looks_random(v, 20), src="tokens as URL user (https://<token>@github.com)"),
    inner("BEARER_TOKEN", r"(?i:bearer)[ \t]++([A-Za-z0-9._~+/-]{16,}+=*+)", "bearer", group=1, check=_has_digit,
          src="RFC 6750 bearer tokens"),
    inner("BASIC_AUTH", r"(?i:basic)[ \t]++([A-Za-z0-9+/]{8,}+={0,2})", "basic", group=1, check=is_basic_credential,
          src="RFC 7617 basic credentials"),
    inner(
        "PASSWORD",
        r"(?:-u(?<![\w-]-u)|--user(?<![\w-]--user))(?:=|[ \t]++)(?:\"[^\":\n]{0,100}+:([^\"\n]{1,200}+)\"|'[^':\n]{0,100}+:([^'\n]{1,200}+)'"
        r"|(?:\"[^\"\n]{1,100}+\"|'[^'\n]{1,100}+'|[\w$@.{}-]{1,100}+):(\"[^\"\n]{1,200}+\"|'[^'\n]{1,200}+'|[^\s\"']{1,200}+))",
        "-u --user", group=-1, check=_cli_password, src="gitleaks curl-auth-user",
    ),
]
