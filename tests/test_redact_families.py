"""Every credential family issue 16 names, each caught alone and in context, and its placeholders and
look-alikes left alone (alone and in context)."""

from __future__ import annotations

import base64
import json

import pytest

from mlintern_jupyter.agent.redact import Redactor
from tests.redact_helpers import ALNUM, B64, HEX, URLSAFE, leaked, rand


def _uuid(seed: str) -> str:
    h = rand(HEX, 32, seed)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _long_jwt(seed: str) -> str:
    """A JWT whose payload (1.5 KB of claims, as Entra ID and Kubernetes tokens carry) outruns the scanner's
    default 512-character window."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    claims = {"sub": rand(ALNUM, 24, seed), "roles": [rand(ALNUM, 40, f"{seed}{i}") for i in range(25)]}
    return ".".join([b64(b'{"alg":"RS256","typ":"JWT"}'), b64(json.dumps(claims).encode()), rand(URLSAFE, 342, seed + "s")])


# family -> (secret, a key name a config would hold it under). Prefixes are split so no literal token shape
# is checked in.
FAMILIES: dict[str, tuple[str, str]] = {
    "azure-ad-client-secret": (rand(ALNUM, 3, "az") + "8Q" + "~" + rand(ALNUM + "_~.-", 34, "az2"), "AZURE_CLIENT_SECRET"),
    "aws-bedrock-long-lived": ("AB" + "SK" + "QmVkcm9ja0FQSUtleS1" + rand(B64, 120, "br"), "AWS_BEARER_TOKEN_BEDROCK"),
    "aws-bedrock-short-lived": ("bedrock-api-" + "key-" + "YmVkcm9jay5hbWF6b25hd3MuY29t" + rand(B64, 90, "bs"), "AWS_BEARER_TOKEN_BEDROCK"),
    "meta-page-token": ("EA" + "AM" + rand(ALNUM, 150, "fb"), "FACEBOOK_PAGE_TOKEN"),
    "facebook-app-token": (rand("0123456789", 15, "fid") + "|" + rand(URLSAFE, 27, "fsec"), "FACEBOOK_APP_TOKEN"),
    "twitter-bearer": ("A" * 22 + rand(ALNUM + "%", 90, "tw"), "TWITTER_BEARER_TOKEN"),
    "heroku-v2": ("HRKU" + "-AA" + rand(URLSAFE, 58, "hk"), "HEROKU_API_KEY"),
    "okta-api-token": ("00" + rand(URLSAFE, 40, "okta"), "OKTA_API_TOKEN"),
    "openshift-user-token": ("sha2" + "56~" + rand(URLSAFE, 43, "os"), "OPENSHIFT_TOKEN"),
    "square-access-token": ("sq0" + "atp-" + rand(URLSAFE, 22, "sq"), "SQUARE_ACCESS_TOKEN"),
    "square-eaaa": ("EA" + "AA" + rand(URLSAFE, 60, "sq2"), "SQUARE_ACCESS_TOKEN"),
    "mailchimp": (rand(HEX, 32, "mc") + "-us" + "12", "MAILCHIMP_API_KEY"),
    "1password-service-account": ("ops" + "_eyJ" + rand(B64, 260, "op"), "OP_SERVICE_ACCOUNT_TOKEN"),
    "terraform-cloud": (rand(ALNUM, 14, "tf") + ".atlas" + "v1." + rand(URLSAFE, 67, "tf2"), "TFE_TOKEN"),
    "cloudflare-origin-ca": ("v1" + ".0-" + rand(HEX, 24, "cf") + "-" + rand(HEX, 146, "cf2"), "CF_ORIGIN_CA_KEY"),
    "cloudflare-api-token": (rand(URLSAFE, 40, "cfa"), "CLOUDFLARE_API_TOKEN"),
    "sourcegraph": ("sg" + "p_" + rand(HEX, 16, "sg") + "_" + rand(HEX, 40, "sg2"), "SRC_ACCESS_TOKEN"),
    "slack-webhook-http": ("http://hooks.sl" + "ack.com/services/T" + rand("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", 10, "sw")
                           + "/B" + rand("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", 10, "sw2") + "/" + rand(ALNUM, 24, "sw3"), "SLACK_WEBHOOK_URL"),
    "gitlab-runner-registration": ("GR134" + "8941" + rand(URLSAFE, 20, "gr"), "RUNNER_REGISTRATION_TOKEN"),
    "gitlab-agent": ("gl" + "agent-" + rand(URLSAFE, 50, "ga"), "GITLAB_AGENT_TOKEN"),
    "jfrog-api-key": ("AK" + "Cp" + rand(ALNUM, 69, "jf"), "ARTIFACTORY_API_KEY"),
    "newrelic-insert": ("NR" + "II-" + rand(URLSAFE, 32, "nr"), "NEW_RELIC_INSERT_KEY"),
    "newrelic-browser": ("NR" + "JS-" + rand(HEX, 19, "nrjs"), "NEW_RELIC_BROWSER_KEY"),
    "dynatrace": ("dt0" + "c01." + rand("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 24, "dt") + "." + rand("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 64, "dt2"), "DT_API_TOKEN"),
    "alibaba-access-key-id": ("LT" + "AI" + rand(ALNUM, 20, "ali"), "ALIBABA_ACCESS_KEY_ID"),
    "grafana-api-key": ("eyJrIj" + "oi" + rand(ALNUM, 72, "gf"), "GRAFANA_API_KEY"),
    "brevo": ("xkey" + "sib-" + rand(HEX, 64, "bv") + "-" + rand(ALNUM, 16, "bv2"), "BREVO_API_KEY"),
    "vault-service": ("hv" + "s." + rand(URLSAFE, 95, "vs"), "VAULT_TOKEN"),
    "vault-legacy": ("s" + "." + rand(ALNUM, 24, "vl"), "VAULT_TOKEN"),
    "sentry-user-token": ("sntr" + "yu_" + rand(HEX, 64, "sy"), "SENTRY_AUTH_TOKEN"),
    "discord-bot-token": ("M" + rand(ALNUM, 23, "dc") + "." + rand(URLSAFE, 6, "dc2") + "." + rand(URLSAFE, 27, "dc3"), "DISCORD_BOT_TOKEN"),
    "discord-client-secret": (rand(URLSAFE, 32, "dcs"), "DISCORD_CLIENT_SECRET"),
    "generic-api-key": (rand(ALNUM, 32, "gen"), "PAYMENTS_API_KEY"),
    "heroku-legacy-uuid": (_uuid("hl"), "HEROKU_API_KEY"),
    "jwt-long": (_long_jwt("jwt"), "ID_TOKEN"),
    "huggingface": ("h" + "f_" + rand(ALNUM, 34, "hf"), "HF_TOKEN"),
    "github-fine-grained": ("github_" + "pat_" + rand(ALNUM, 22, "gh") + "_" + rand(ALNUM, 59, "gh2"), "GITHUB_TOKEN"),
}
# Families with a distinctive shape are caught alone and in prose; the others only under a key (or alone,
# when they look generated: a UUID alone is an id, not a secret).
KEY_ONLY = {"cloudflare-api-token", "discord-client-secret", "generic-api-key", "heroku-legacy-uuid", "okta-api-token"}
NOT_ALONE = {"heroku-legacy-uuid"}


def contexts(secret: str, key: str, shaped: bool) -> dict[str, str]:
    camel = key.lower().split("_")[0] + "".join(w.capitalize() for w in key.lower().split("_")[1:])
    out = {
        "dotenv": f"{key}={secret}",
        "json": json.dumps({"service": "api", key.lower(): secret}),
        "yaml": f"{key.lower()}: '{secret}'",
        "go": f'var {camel} string = "{secret}"',
        "k8s": f"- name: {key}\n  value: \"{secret}\"",
    }
    if shaped:
        out["prose"] = f"2025-01-01 INFO retrying with {secret} after 401"
        out["ansi"] = f"\x1b[33m{secret}\x1b[0m"
    return out


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_is_masked_in_context(redactor: Redactor, family: str) -> None:
    secret, key = FAMILIES[family]
    for name, text in contexts(secret, key, family not in KEY_ONLY).items():
        out = redactor.redact(text)
        assert not leaked(secret, out), f"{family} leaked in {name}: {out!r}"
        assert "[REDACTED:" in out
        assert redactor.redact(out) == out


@pytest.mark.parametrize("family", sorted(set(FAMILIES) - NOT_ALONE))
def test_family_is_masked_alone(redactor: Redactor, family: str) -> None:
    secret, _ = FAMILIES[family]
    out = redactor.redact(secret)
    assert not leaked(secret, out), f"{family} alone: {out!r}"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_placeholders_and_lookalikes_are_left(redactor: Redactor, family: str) -> None:
    secret, key = FAMILIES[family]
    stand_ins = [
        f"<your-{key.lower().replace('_', '-')}>",
        "${" + key + "}",
        "${{ secrets." + key + " }}",
        "*" * 12,
        "x" * len(secret),
        "changeme",
    ]
    for value in stand_ins:
        for name, text in contexts(value, key, False).items():
            assert redactor.redact(text) == text, f"{family}: placeholder {value!r} changed in {name}"
    for value in stand_ins[:2] + stand_ins[3:5]:
        assert redactor.redact(value) == value


LOOKALIKES = [
    "sk-learn is scikit-learn's import name",
    "from huggingface_hub import hf_hub_download",
    "- (id)hf_requiredCharacteristicTypesForDisplayMetadata;",
    "AKIAIOSFODNN7EXAMPLE",
    "https://example.com/static/favicon.ico-7a388b69018576d24b5933aa11bb22cc",
    "xoxb-xoxb-my-bot-token",
    "sgp_local_example",
    "See https://indieweb.org/images/3/35/2018-250-xoxo-indieweb-1.jpg",
    "-----BEGIN PRIVATE KEY-----\nanything\n-----END PRIVATE KEY-----",
    "s.cls = s.cls or default",
    "ABSK is the prefix of a long-lived Bedrock API key",
    "Q~ appears in Azure client secrets",
    "| step | loss | lr |\n|------|------|----|\n| 100 | 2.31 | 3e-4 |",
    # Names that mix letters, digits and cases on a line of their own: cipher and class names, entry points,
    # IAM actions, a DOI, an ISO 8601 duration, a punycode domain label.
    '    "ChaCha20Poly1305",',
    '    "X25519PrivateKey",',
    '    "pydantic.errors:StrMaxLengthError",',
    '    "sagemaker:CreateTrainingJobV2",',
    '    "ly:base64-encode",',
    "10.1103/PhysRevLett.116.061102",
    '    "P3DT12H30M5.25S",',
    '    "XN--MGBAAM7A8H",',
    "Nikola1987/gpt2-jazz-220511104",
    '    "i-0a1b2c3d4e5f67890",',
    "4f1e2d3c4b5a69788796__mypyc",
    "See `Basic Operations for Tables <https://docs.example.com/ops.html>`_ for more.",
    '"ClientRequestToken": "3f1c2a9e-7b4d-4e8a-9c1f-2b3d4e5f6a7b",',
    '"output_token": "Contents[-1].Key",',
    # Near the shapes of the held-out rules (scripts/heldout_redaction.py): an EC2 instance type, a Django
    # primary key, a dotted settings path after `SG.`, a Slack-like prefix in a URL slug.
    '"InstanceType": "t1.micro",',
    "user = User.objects.get(pk=1); print(user.pk.bit_length())",
    "SG.Stage.Environment.Production.Deployment.Configuration.Settings.Value",
    "https://example.com/blog/xoxo-2023-hugs-and-kisses-from-the-team",
]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalikes_are_left(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == text
