"""Fake credentials for the redaction tests, assembled at run time so no token-shaped literal is checked in."""

from __future__ import annotations

import random
import string

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"


def rand(charset: str, n: int, seed: object) -> str:
    """n random characters of charset, letters and digits mixed (as generated credentials are)."""
    rng = random.Random(str(seed))
    while True:
        value = "".join(rng.choice(charset) for _ in range(n))
        if n < 4 or charset.isdigit() or (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
            return value


def leaked(secret: str, out: str, n: int = 12) -> bool:
    """Does any n-character piece of the secret survive in out?"""
    n = min(n, len(secret))
    return any(secret[i : i + n] in out for i in range(len(secret) - n + 1))
