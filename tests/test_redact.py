"""Redaction: a corpus of fake secret shapes x 8 contexts, a benign corpus, exact values in their encoded
forms, fail-closed behaviour, properties. Speed is measured in tests/bench_redact.py, not asserted here."""

from __future__ import annotations

import base64
import dataclasses
import json
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlintern_jupyter.agent.redact import RedactionError, Redactor

FIXTURES = Path(__file__).parent / "fixtures" / "redaction"
sys.path.insert(0, str(FIXTURES))
from make_corpus import build_secrets, contexts  # noqa: E402

SECRETS = build_secrets()
CONTEXT_NAMES = list(contexts(SECRETS[0]))
# A registered secret with no recognisable shape: only the exact-value step can catch it.
SHAPELESS = "correct-horse-Battery-staple-42"


def _substrings(value: str, n: int = 12) -> set[str]:
    return {value[i : i + n] for i in range(max(1, len(value) - n + 1))}


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


def test_corpus_has_at_least_30_shapes() -> None:
    assert len({s["kind"] for s in SECRETS}) >= 30
    assert len(CONTEXT_NAMES) == 8


@pytest.mark.parametrize("context", CONTEXT_NAMES)
@pytest.mark.parametrize("secret", SECRETS, ids=[s["kind"] for s in SECRETS])
def test_secret_shapes_are_masked_in_every_context(redactor: Redactor, secret: dict, context: str) -> None:
    text = contexts(secret)[context]
    assert secret["value"] in text or context in ("json_value", "json_key_named")  # JSON escapes PEM newlines
    out = redactor.redact(text)
    assert secret["value"] not in out
    left = [s for s in _substrings(secret["value"]) if s in out]
    assert not left, f"{secret['kind']} leaked {left[:3]} in {out!r}"
    assert "[REDACTED:" in out
    assert redactor.redact(out) == out


def test_benign_corpus_is_left_alone() -> None:
    benign = json.loads((FIXTURES / "benign.json").read_text())
    assert len(benign) >= 200
    redactor = Redactor({"HF_TOKEN": SECRETS[0]["value"], "DB_PASSWORD": SHAPELESS})
    changed = [text for text in benign if redactor.redact(text) != text]
    assert len(changed) <= len(benign) // 100, changed


def test_placeholders_keep_the_kind(redactor: Redactor) -> None:
    by_kind = {s["kind"]: s["value"] for s in SECRETS}
    assert redactor.redact(by_kind["HF_TOKEN"]) == "[REDACTED:HF_TOKEN]"
    assert redactor.redact(by_kind["GITHUB_PAT_CLASSIC"]) == "[REDACTED:GITHUB_TOKEN]"
    assert "[REDACTED:AWS_SECRET]" in redactor.redact(f"aws_secret_access_key={by_kind['AWS_SECRET']}")
    assert redactor.redact('{"password": "hunter2!"}') == '{"password": "[REDACTED:PASSWORD]"}'


# --- exact values ----------------------------------------------------------------------------------------


@pytest.fixture
def registered() -> Redactor:
    return Redactor({"DB_PASSWORD": SHAPELESS})


def test_exact_value_plain(registered: Redactor) -> None:
    assert registered.redact(f"pw is {SHAPELESS}.") == "pw is [REDACTED:DB_PASSWORD]."


@pytest.mark.parametrize("prefix_len", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("urlsafe", [False, True])
def test_exact_value_base64_inside_a_larger_blob(registered: Redactor, prefix_len: int, urlsafe: bool) -> None:
    payload = b"x" * prefix_len + b"user:" + SHAPELESS.encode() + b"\x00trailing bytes"
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    blob = encode(payload).decode()
    out = registered.redact(f"Authorization header dump: {blob}")
    assert "[REDACTED:DB_PASSWORD]" in out
    # What survives either side of the placeholder decodes to at most a couple of the secret's bytes.
    head, tail = out.removeprefix("Authorization header dump: ").split("[REDACTED:DB_PASSWORD]")
    decode = base64.urlsafe_b64decode if urlsafe else base64.b64decode
    survived = decode(head[: len(head) // 4 * 4]) + b"|" + decode(tail + "=" * (-len(tail) % 4))
    assert not any(piece.encode() in survived for piece in _substrings(SHAPELESS, 4))


@pytest.mark.parametrize("encode", [quote_plus, lambda v: quote(v, safe="")])
def test_exact_value_url_encoded(registered: Redactor, encode) -> None:  # type: ignore[no-untyped-def]
    encoded = encode(SHAPELESS + " ")  # the space makes quote and quote_plus differ
    out = registered.redact(f"https://example.com/cb?state={encoded}&x=1")
    assert encode(SHAPELESS) not in out and "[REDACTED:DB_PASSWORD]" in out


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_exact_value_split_across_a_line_break(registered: Redactor, newline: str) -> None:
    for cut in range(1, len(SHAPELESS)):
        text = f"log line\nsecret={SHAPELESS[:cut]}{newline}{SHAPELESS[cut:]} and more\nnext"
        out = registered.redact(text)
        assert SHAPELESS[:cut] + newline + SHAPELESS[cut:] not in out
        assert "[REDACTED:DB_PASSWORD]" in out and out.endswith(" and more\nnext")


def test_short_values_are_not_registered() -> None:
    redactor = Redactor({"X": "abc"})
    assert len(redactor) == 0 and redactor.redact("abc") == "abc"


def test_from_environment(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    file_token = "hf_" + "FromTheTokenFile" + "0123456789abcdefgh"
    token_file.write_text(file_token + "\n")
    env = {
        "GITHUB_TOKEN": "gh-value-" + "1234567890",
        "MY_SERVICE_PASSWORD": "p4ssw0rd-long",
        "SOME_API_KEY": "abcdefgh12",
        "TOKENIZERS_PARALLELISM": "false",  # shorter than 8: skipped
        "PATH": "/usr/bin:/bin",
    }
    redactor = Redactor.from_environment(env, hf_token_path=token_file)
    assert len(redactor) == 4
    out = redactor.redact(f"{file_token} {env['GITHUB_TOKEN']} p4ssw0rd-long abcdefgh12 false /usr/bin")
    assert out == (
        "[REDACTED:HF_TOKEN] [REDACTED:GITHUB_TOKEN] [REDACTED:MY_SERVICE_PASSWORD] "
        "[REDACTED:SOME_API_KEY] false /usr/bin"
    )
    assert "p4ssw0rd" not in repr(redactor)


@pytest.mark.parametrize("padding", ["\n", "\r\n", "  \n", "\t"])
@pytest.mark.parametrize("source", ["env", "file"])
def test_hf_token_registered_stripped(tmp_path: Path, source: str, padding: str) -> None:
    """A token pasted into HF_TOKEN or the token file with a trailing newline is registered without it, so its
    encoded forms (base64 of user:token, URL-quoted) are those of the token that is actually sent."""
    token_file = tmp_path / "token"
    token_file.write_text(SHAPELESS + padding if source == "file" else "")
    env = {"HF_TOKEN": SHAPELESS + padding} if source == "env" else {}
    redactor = Redactor.from_environment(env, hf_token_path=token_file)
    assert len(redactor) == 1
    for offset in range(3):
        basic = base64.b64encode(b"u" * offset + b"user:" + SHAPELESS.encode()).decode()
        assert "[REDACTED:HF_TOKEN]" in redactor.redact(f"Authorization: Basic {basic}")
        assert not _substrings(basic[-16:-4]) & _substrings(redactor.redact(basic))
    assert redactor.redact(f"?t={quote_plus(SHAPELESS)}&x=1") == "?t=[REDACTED:HF_TOKEN]&x=1"


def test_from_environment_missing_token_file(tmp_path: Path) -> None:
    redactor = Redactor.from_environment({"HF_HOME": str(tmp_path)})
    assert len(redactor) == 0


def test_learn_from_text_masks_later_encoded_occurrences() -> None:
    token = SECRETS[0]["value"]
    redactor = Redactor()
    assert redactor.learn_from_text(f"my token is {token}, use it") == ["HF_TOKEN"]
    blob = base64.b64encode(f"user:{token}".encode()).decode()
    assert "[REDACTED:HF_TOKEN]" in redactor.redact(blob)
    assert redactor.redact(quote(token[:10]) + "\n" + token[10:]) == "[REDACTED:HF_TOKEN]"


# --- objects ---------------------------------------------------------------------------------------------


def test_redact_obj(redactor: Redactor) -> None:
    token = SECRETS[0]["value"]
    obj = {
        "token": "short-but-secret",
        "max_tokens": 512,
        "pad_token": "<pad>",
        "nested": [{"api_key": "whatever-it-is"}, ("text with " + token, 3)],
        token: "a key that is a secret",
        "password": 123456789,
        "max_token": 7,
        "enabled": True,
        "cache_key": "model:rev",
        "empty": None,
    }
    out = redactor.redact_obj(obj)
    assert out["token"] == "[REDACTED:TOKEN]"
    assert out["max_tokens"] == 512 and out["pad_token"] == "<pad>" and out["cache_key"] == "model:rev"
    assert out["nested"][0] == {"api_key": "[REDACTED:API_KEY]"}
    assert out["nested"][1] == ("text with [REDACTED:HF_TOKEN]", 3)
    assert out["[REDACTED:HF_TOKEN]"] == "a key that is a secret"
    assert out["password"] == "[REDACTED:PASSWORD]" and out["max_token"] == 7
    assert out["enabled"] is True and out["empty"] is None
    assert token not in json.dumps(out)


def test_redact_obj_fails_closed_on_unknown_types_and_cycles(redactor: Redactor) -> None:
    with pytest.raises(RedactionError):
        redactor.redact_obj({"x": object()})
    loop: list = []
    loop.append(loop)
    with pytest.raises(RedactionError):
        redactor.redact_obj(loop)


# --- fail closed -----------------------------------------------------------------------------------------


def test_pattern_step_failure_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    redactor = Redactor({"DB_PASSWORD": SHAPELESS})

    def boom(text: str) -> str:
        raise ValueError("rule engine broke")

    monkeypatch.setattr(redactor, "_apply_rules", boom)
    with pytest.raises(RedactionError):
        redactor.redact(f"x {SHAPELESS}")
    with pytest.raises(RedactionError):
        redactor.redact_obj({"a": ["b"]})


def test_broken_rule_raises() -> None:
    class BrokenPattern:
        def finditer(self, *args: object) -> None:
            raise MemoryError

        match = finditer

    redactor = Redactor()
    scanner = redactor._scanner
    rule = next(r for r in scanner.rules if "hf_" in r.needles)
    scanner.rules = tuple(dataclasses.replace(r, regex=BrokenPattern()) if r is rule else r for r in scanner.rules)  # type: ignore[arg-type]
    with pytest.raises(RedactionError):
        redactor.redact(f"token {SECRETS[0]['value']}")


def test_non_str_raises(redactor: Redactor) -> None:
    with pytest.raises(RedactionError):
        redactor.redact(b"bytes")  # type: ignore[arg-type]


# --- properties and performance --------------------------------------------------------------------------

_SECRET_ALPHABET = st.characters(min_codepoint=33, max_codepoint=126)
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
_TRICKY = st.lists(
    st.sampled_from(
        [
            "hf_",
            "sk-",
            "ghp_",
            "AKIA",
            "eyJ",
            ".",
            "-",
            "_",
            "=",
            ":",
            "@",
            "://",
            "\n",
            "\r",
            "\x1b[31m",
            '"',
            "'",
            " ",
            "token",
            "password",
            "Bearer ",
            "-----BEGIN PRIVATE KEY-----",
            "-----END",
            "a",
            "Z",
            "0",
            "9",
            "/",
            "+",
            "[REDACTED:X]",
            "{",
            "$",
        ]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    before=_TEXT,
    after=_TEXT,
    secret=st.text(_SECRET_ALPHABET, min_size=8, max_size=40),
    newline_at=st.integers(min_value=0, max_value=60),
)
def test_registered_secret_never_survives(before: str, after: str, secret: str, newline_at: int) -> None:
    redactor = Redactor({"S": secret})
    assert secret not in redactor.redact(before + secret + after)
    split = secret[:newline_at] + "\n" + secret[newline_at:] if 0 < newline_at < len(secret) else secret
    out = redactor.redact(before + split + after)
    assert secret not in out and split not in out
    assert redactor.redact(out) == out


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(_TEXT, _TRICKY))
def test_redact_is_idempotent(text: str) -> None:
    redactor = Redactor({"S": SHAPELESS})
    once = redactor.redact(text)
    assert redactor.redact(once) == once


def _megabyte() -> str:
    parts = [json.dumps(SECRETS[i % len(SECRETS)]) for i in range(10)]
    parts += json.loads((FIXTURES / "benign.json").read_text())
    text = "\n".join(parts)
    return (text * (1_000_000 // len(text) + 1))[:1_000_000]


def test_one_megabyte_in_one_call() -> None:
    """A megabyte of mixed text in one call: secrets masked, benign lines intact (speed is in bench_redact)."""
    redactor = Redactor({"DB_PASSWORD": SHAPELESS, "HF_TOKEN": SECRETS[0]["value"]})
    out = redactor.redact(_megabyte())
    assert SECRETS[0]["value"] not in out and SECRETS[1]["value"] not in out
    assert "Fine-tuning DistilBERT on IMDB reaches about 93% accuracy after three epochs." in out
    assert redactor.redact(out) == out


# --- what the session's own records carry ---------------------------------------------------------------


def test_ids_under_id_keys_survive_redact_obj() -> None:
    """Approval nonces, call ids and digests look random; under their keys they are identifiers, and masking
    them would break the event log (an approval could no longer be matched)."""
    import secrets as stdlib_secrets

    nonce = stdlib_secrets.token_urlsafe(16)
    record = {
        "kind": "approval_requested",
        "nonce": nonce,
        "call_id": "call_" + stdlib_secrets.token_urlsafe(18),
        "action_sha256": stdlib_secrets.token_hex(32),
        "tool_use_id": "toolu_01" + stdlib_secrets.token_urlsafe(16),
        "session": "0b4c1b0e-7f5e-4c1a-9d8e-2f6a1b3c4d5e",
    }
    assert Redactor().redact_obj(record) == record
    # A generated-looking string where nothing says it is an id is a lone credential-shaped token: masked.
    lone = "x9Kq2" + SECRETS[0]["value"][3:30]
    assert Redactor().redact_obj({"note": lone, "nonce": lone}) == {"note": "[REDACTED:SECRET]", "nonce": lone}


# --- echoes: a value masked once is masked wherever the same text repeats it ---------------------------------

ECHOED = "k9Xv2Lq8Tz4Rw7Mn3Bp6"  # random-looking, but in prose nothing says it is a secret


@pytest.mark.parametrize("text", [
    f"x token = '{ECHOED}' | '{ECHOED}'",  # trufflehog's test template: the bare copy used to survive
    f"export API_TOKEN={ECHOED}\n+ echo using {ECHOED} now",
    f"the run used {ECHOED} as its seed\npassword: {ECHOED}",  # the echo comes first
])
def test_an_echo_of_a_masked_value_is_masked_too(text: str) -> None:
    out = Redactor().redact(text)
    assert ECHOED not in out and out.count("[REDACTED:") == 2, out


def test_echoes_are_per_text_and_never_remembered() -> None:
    """Remembering would mask a benign value forever after one false positive; the known-value registry (the
    session's own secrets) is the only memory."""
    redactor = Redactor()
    prose = f"the run used {ECHOED} as its seed string"
    assert redactor.redact(prose) == prose
    assert redactor.redact(f"API_TOKEN={ECHOED}") == "API_TOKEN=[REDACTED:TOKEN]"
    assert redactor.redact(prose) == prose
    short = "password=hunter2\nthe hunter2 run"  # under 12 characters: words, not echoed
    assert redactor.redact(short).endswith("the hunter2 run")


def test_learn_from_text_counts_an_echoed_value_once() -> None:
    assert Redactor().learn_from_text(f"API_TOKEN={ECHOED}\necho {ECHOED}") == ["TOKEN"]
