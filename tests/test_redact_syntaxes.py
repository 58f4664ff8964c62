"""Context rules: the assignment and key/value syntaxes of the common languages and formats, with the secret
masked and everything around it (key, operator, quotes, scheme word) kept; and the same syntaxes holding
ordinary values left alone."""

from __future__ import annotations

import pytest

from mlintern_jupyter.agent.redact import Redactor
from tests.redact_helpers import ALNUM, B64, HEX, URLSAFE, rand

S = rand(ALNUM, 32, "syntax")  # a generated credential with no recognisable prefix
P = "Tr0ub4dor&3-" + rand(ALNUM, 6, "pw")  # a password a person chose
SYM = "q{w}e)r$t{y]u(i[o>p-_$#" + rand(ALNUM, 6, "sym")  # symbols, brackets out of order

# (syntax, text, expected output): the exact output, so a masked operator or scheme word fails.
CASES = [
    ("shell export", f'export SERVICE_TOKEN="{S}"', 'export SERVICE_TOKEN="[REDACTED:TOKEN]"'),
    ("dotenv", f"SERVICE_API_KEY={S}", "SERVICE_API_KEY=[REDACTED:API_KEY]"),
    ("python", f'api_key = "{S}"', 'api_key = "[REDACTED:API_KEY]"'),
    ("python annotated", f'api_key: str = "{S}"', 'api_key: str = "[REDACTED:API_KEY]"'),
    ("python kwarg", f'Client(token="{S}", timeout=3)', 'Client(token="[REDACTED:TOKEN]", timeout=3)'),
    ("python environ", f'os.environ["SERVICE_TOKEN"] = "{S}"', 'os.environ["SERVICE_TOKEN"] = "[REDACTED:TOKEN]"'),
    ("python dict", f'{{"password": "{P}"}}', '{"password": "[REDACTED:PASSWORD]"}'),
    ("js const", f"const apiToken = '{S}';", "const apiToken = '[REDACTED:TOKEN]';"),
    ("ts annotated", f'export const apiToken: string = "{S}";', 'export const apiToken: string = "[REDACTED:TOKEN]";'),
    ("js object", f"{{ clientSecret: '{S}' }}", "{ clientSecret: '[REDACTED:SECRET]' }"),
    ("js template", f"const authToken = `{S}`;", "const authToken = `[REDACTED:TOKEN]`;"),
    ("go var", f'var fooToken string = "{S}"', 'var fooToken string = "[REDACTED:TOKEN]"'),
    ("go short", f'fooToken := "{S}"', 'fooToken := "[REDACTED:TOKEN]"'),
    ("go backticks", f"fooToken := `{S}`", "fooToken := `[REDACTED:TOKEN]`"),
    ("java field", f'private static final String API_TOKEN = "{S}";', 'private static final String API_TOKEN = "[REDACTED:TOKEN]";'),
    ("java setProperty", f'System.setProperty("FOO_TOKEN", "{S}");', 'System.setProperty("FOO_TOKEN", "[REDACTED:TOKEN]");'),
    ("java builder", f'builder.setPassword("{P}")', 'builder.setPassword("[REDACTED:PASSWORD]")'),
    ("php", f'$dbPassword = "{P}";', '$dbPassword = "[REDACTED:PASSWORD]";'),
    ("php concat", f'$fooToken .= "{S}";', '$fooToken .= "[REDACTED:TOKEN]";'),
    ("php array", f"'secret_key' => '{S}',", "'secret_key' => '[REDACTED:KEY]',"),
    ("php define", f"define('DB_PASSWORD', '{P}');", "define('DB_PASSWORD', '[REDACTED:PASSWORD]');"),
    ("ruby env", f'ENV["FOO_TOKEN"] = "{S}"', 'ENV["FOO_TOKEN"] = "[REDACTED:TOKEN]"'),
    ("ruby symbol", f':api_key => "{S}"', ':api_key => "[REDACTED:API_KEY]"'),
    ("ruby or-assign", f'@token ||= "{S}"', '@token ||= "[REDACTED:TOKEN]"'),
    ("csharp", f'string FooToken = "{S}";', 'string FooToken = "[REDACTED:TOKEN]";'),
    ("csharp verbatim", f'var apiKey = @"{S}";', 'var apiKey = @"[REDACTED:API_KEY]";'),
    ("objc", f'NSString *apiKey = @"{S}";', 'NSString *apiKey = @"[REDACTED:API_KEY]";'),
    ("kotlin", f'val apiToken: String = "{S}"', 'val apiToken: String = "[REDACTED:TOKEN]"'),
    ("rust", f'const API_TOKEN: &str = "{S}";', 'const API_TOKEN: &str = "[REDACTED:TOKEN]";'),
    ("c array", f'char password[] = "{P}";', 'char password[] = "[REDACTED:PASSWORD]";'),
    ("c define", f'#define API_TOKEN "{S}"', '#define API_TOKEN "[REDACTED:TOKEN]"'),
    ("make =", f"FOO_TOKEN = {S}", "FOO_TOKEN = [REDACTED:TOKEN]"),
    ("make :=", f"FOO_TOKEN := {S}", "FOO_TOKEN := [REDACTED:TOKEN]"),
    ("make ::=", f'FOO_TOKEN ::= "{S}"', 'FOO_TOKEN ::= "[REDACTED:TOKEN]"'),
    ("make :::=", f'FOO_TOKEN :::= "{S}"', 'FOO_TOKEN :::= "[REDACTED:TOKEN]"'),
    ("make ?=", f"FOO_TOKEN ?= {S}", "FOO_TOKEN ?= [REDACTED:TOKEN]"),
    ("yaml", f"api_token: {S}", "api_token: [REDACTED:TOKEN]"),
    ("yaml quoted", f"  api_token: '{S}'", "  api_token: '[REDACTED:TOKEN]'"),
    ("k8s env", f'env:\n  - name: FOO_TOKEN\n    value: "{S}"', 'env:\n  - name: FOO_TOKEN\n    value: "[REDACTED:TOKEN]"'),
    ("k8s env unquoted", f"- name: DB_PASSWORD\n  value: {P}", "- name: DB_PASSWORD\n  value: [REDACTED:PASSWORD]"),
    ("github actions env", f"env:\n  SERVICE_TOKEN: {S}", "env:\n  SERVICE_TOKEN: [REDACTED:TOKEN]"),
    ("toml", f'[service]\napi_token = "{S}"', '[service]\napi_token = "[REDACTED:TOKEN]"'),
    ("ini", f"[db]\npassword = {P}", "[db]\npassword = [REDACTED:PASSWORD]"),
    ("ini spaces", "[db]\npassword = correct horse battery", "[db]\npassword = [REDACTED:PASSWORD]"),
    ("properties", f"spring.datasource.password={P}", "spring.datasource.password=[REDACTED:PASSWORD]"),
    ("xml element", f"<apiToken>{S}</apiToken>", "<apiToken>[REDACTED:TOKEN]</apiToken>"),
    ("xml element on its own line", f"<apiToken>\n    {S}\n</apiToken>", "<apiToken>\n    [REDACTED:TOKEN]\n</apiToken>"),
    ("xml attribute pair", f'<add key="ApiToken" value="{S}" />', '<add key="ApiToken" value="[REDACTED:TOKEN]" />'),
    ("xml attribute", f'<server password="{P}" />', '<server password="[REDACTED:PASSWORD]" />'),
    ("json", f'{{"api_token": "{S}"}}', '{"api_token": "[REDACTED:TOKEN]"}'),
    ("json escaped", f'{{"cfg": "{{\\"api_token\\": \\"{S}\\"}}"}}', '{"cfg": "{\\"api_token\\": \\"[REDACTED:TOKEN]\\"}"}'),
    ("json newline escape", f'{{"config.ini": "FOO_TOKEN={S}\\nDEBUG=1"}}', '{"config.ini": "FOO_TOKEN=[REDACTED:TOKEN]\\nDEBUG=1"}'),
    ("json name/value", f'{{"name": "FOO_TOKEN", "value": "{S}"}}', '{"name": "FOO_TOKEN", "value": "[REDACTED:TOKEN]"}'),
    ("url query", f"GET /v1/items?api_key={S}&page=2", "GET /v1/items?api_key=[REDACTED:API_KEY]&page=2"),
    ("url credentials", f"postgresql://svc:{P}@db.internal:5432/app", "postgresql://svc:[REDACTED:URL_PASSWORD]@db.internal:5432/app"),
    ("cli --password=", f"mytool --password={P} --verbose", "mytool --password=[REDACTED:PASSWORD] --verbose"),
    ("cli --token", f"mytool --token {S} --verbose", "mytool --token [REDACTED:TOKEN] --verbose"),
    ("curl -u", f"curl -u deploy:{P} https://api.example.com", "curl -u deploy:[REDACTED:PASSWORD] https://api.example.com"),
    ("curl --user quoted", f"curl --user 'deploy:{P}' https://api.example.com", "curl --user 'deploy:[REDACTED:PASSWORD]' https://api.example.com"),
    ("netrc", f"machine api.example.com login me password {P}", "machine api.example.com login me password [REDACTED:PASSWORD]"),
    ("comparison", f'if (apiKey == "{S}") {{', 'if (apiKey == "[REDACTED:API_KEY]") {'),
    ("reversed comparison", f'if ("{S}" === secretToken) {{', 'if ("[REDACTED:TOKEN]" === secretToken) {'),
    ("keyword inside the key", f"AWS_BEARER_TOKEN_SERVICE={S}", "AWS_BEARER_TOKEN_SERVICE=[REDACTED:TOKEN]"),
    ("shell env prefix", f"API_TOKEN={S} python train.py --epochs 3", "API_TOKEN=[REDACTED:TOKEN] python train.py --epochs 3"),
    ("export, then a command", f"export API_TOKEN={S} && python x.py", "export API_TOKEN=[REDACTED:TOKEN] && python x.py"),
    ("keyword inside, camelCase", f'tokenForProd = "{S}"', 'tokenForProd = "[REDACTED:TOKEN]"'),
    ("connection string", f"Server=db;User ID=sa;Password={P};", "Server=db;User ID=sa;Password=[REDACTED:PASSWORD];"),
    ("requests auth tuple", f'requests.get(url, auth=("me", "{P}"))', 'requests.get(url, auth=("me", "[REDACTED:PASSWORD]"))'),
    # Symbol-rich passwords with unbalanced brackets are values, not code; a five-word passphrase is not prose.
    ("symbols unquoted", f"db_pass: {SYM}", "db_pass: [REDACTED:PASSWORD]"),
    ("symbols compared", f'if (api_key != "{SYM}") {{', 'if (api_key != "[REDACTED:API_KEY]") {'),
    ("symbols compared, reversed", f'if ("{SYM}" == my_password) {{', 'if ("[REDACTED:PASSWORD]" == my_password) {'),
    ("c++ constructor", f'std::string secret("{SYM}");', 'std::string secret("[REDACTED:SECRET]");'),
    ("c++ assign", f'secret.assign("{SYM}", 17);', 'secret.assign("[REDACTED:SECRET]", 17);'),
    ("passphrase", 'password = "violet harbor lantern seven oak"', 'password = "[REDACTED:PASSWORD]"'),
]

HEADERS = [
    ("Bearer", "Authorization: Bearer {t}"),
    ("Token", "Authorization: Token {t}"),
    ("token lower-case", "authorization: token {t}"),
    ("Api-Token", "Authorization: Api-Token {t}"),
    ("SSWS", "Authorization: SSWS {t}"),
    ("Bot", "Authorization: Bot {t}"),
    ("GenieKey", "Authorization: GenieKey {t}"),
    ("Digest", 'Authorization: Digest username="me", response="{t}"'),
    ("AWS4", "Authorization: AWS4-HMAC-SHA256 Credential=me/20240101/us-east-1/s3/aws4_request, Signature={t}"),
    ("no scheme", "Authorization: {t}"),
    ("curl -H", "curl -H 'Authorization: Api-Token {t}' https://api.example.com"),
    ("json header", '{{"Authorization": "Bearer {t}"}}'),
    ("x-api-key", "X-Api-Key: {t}"),
    ("private-token", "PRIVATE-TOKEN: {t}"),
    ("x-vault-token", "X-Vault-Token: {t}"),
]


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize(("syntax", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_syntax_masks_the_value_only(redactor: Redactor, syntax: str, text: str, expected: str) -> None:
    assert redactor.redact(text) == expected


@pytest.mark.parametrize(("scheme", "template"), HEADERS, ids=[h[0] for h in HEADERS])
def test_auth_headers_keep_the_scheme_and_mask_the_credential(redactor: Redactor, scheme: str, template: str) -> None:
    token = rand(URLSAFE, 40, scheme)
    out = redactor.redact(template.format(t=token))
    assert token[:12] not in out and token[-12:] not in out, out
    # The scheme word and everything before it are kept (parameters of Digest/AWS4 go with the credential).
    head = template.split("{t}")[0]
    kept = head.split(" username=")[0].split(" Credential=")[0].rstrip('"= ')
    assert out.startswith(kept.format()), out


def test_issue_bugs_are_fixed(redactor: Redactor) -> None:
    token = rand(URLSAFE, 40, "bugs")
    assert redactor.redact(f"Authorization: Api-Token {token}") == "Authorization: Api-Token [REDACTED:AUTH]"
    assert redactor.redact(f"Authorization: SSWS {token}") == "Authorization: SSWS [REDACTED:AUTH]"
    sentry = "sntr" + "yu_" + rand(HEX, 64, "sentry")
    assert redactor.redact(sentry) == "[REDACTED:SENTRY_TOKEN]"
    assert redactor.redact(f'FOO_TOKEN ::= "{S}"') == 'FOO_TOKEN ::= "[REDACTED:TOKEN]"'
    assert redactor.redact(f'NSString *apiKey = @"{S}";') == 'NSString *apiKey = @"[REDACTED:API_KEY]";'
    bedrock = "AB" + "SK" + "QmVkcm9ja0FQSUtleS1" + rand(B64, 120, "bedrock")
    assert redactor.redact(f"AWS_BEARER_TOKEN_BEDROCK={bedrock}") == "AWS_BEARER_TOKEN_BEDROCK=[REDACTED:AWS_BEDROCK_KEY]"


# The same syntaxes with values that are not secrets: references, code, placeholders, descriptive keys.
BENIGN = [
    'api_key = os.environ["OPENAI_API_KEY"]',
    "token = get_token()",
    "password = getpass.getpass('Password: ')",
    'token: str = Field(default=None, description="HF token")',
    "export HF_TOKEN=${HF_TOKEN}",
    "token: ${{ secrets.HF_TOKEN }}",
    'const apiKey = process.env.API_KEY || "";',
    'headers = {"Authorization": f"Bearer {token}"}',
    "Authorization: Bearer $TOKEN",
    'secret_name = "hf-token"',
    "secretName: hf-token-secret",
    "- name: HF_TOKEN\n  valueFrom:\n    secretKeyRef:\n      name: hf-secret\n      key: token",
    "token_url = 'https://huggingface.co/oauth/token'",
    "max_tokens = 4096",
    "token_type_ids = encoded['token_type_ids']",
    "tokenizer = AutoTokenizer.from_pretrained('gpt2')",
    'pad_token = "<|endoftext|>"',
    "num_key_value_heads: 8",
    "password_hash = make_password(raw)",
    "API_KEY_HEADER = 'X-Api-Key'",
    "<password>${DB_PASSWORD}</password>",
    '{"token": " the", "logprob": -0.0123}',
    "--password-stdin",
    "docker login -u bot --password-stdin ghcr.io",
    "curl -u $USER:$PASS https://api.example.com",
    "docker run -u 1000:1000 image",
    "if token == '(':",
    "Pass the token to login() or set HF_TOKEN.",
    "The password must be at least 12 characters.",
    "key = jax.random.PRNGKey(0)",
    'cache_key = f"{model_id}:{revision}"',
    "public_key = load_pem_public_key(data)",
    "next_token: eyJ0b2tlbiI6IjEyMyJ9",
    # Real code from installed packages, in shapes that read like assignments to secret-named keys.
    '"Action": ["s3:GetObject", "kms:ReEncryptFrom", "secretsmanager:GetSecretValue"]',
    '"Resource": "arn:aws:secretsmanager:*:*:secret:my-app/*"',
    '"AWS::IAM::AccessKey": "5f2c9e1a7b3d4c6e",',
    "Pass :func:`load` a path to read from disk.",
    "Pass tol='strict' to fail early.",
    "taps = firwin(numtaps, pass_zero='lowpass', fs=2.0)",
    "'CURLOPT_USERNAME', 'CURLOPT_PASSWORD', 'CURLOPT_TIMEOUT',",
    "\"cache_mgr\", \"cachemgr_passwd\", \"cache_peer\",",
    'raise KeyError(f"Key \'{self.name(key_id)}\' not found")',
    'headers["Authorization"] = f"Bearer {self._token()}"',
    '"Authorization": token if token is not None else _missing(),',
    "    authorization: Optional[AuthHeader]",
    "    key: PKCS8PrivateKeyTypes | None,",
    "SOCKS_PASSWORD = 100, _Opt.bytes",
    '{"StorePasswordEncrypted": False},',
    'env = update_env(PWD="/workspace")',
    '<assembly name="Contoso.Lib" publicKeyToken="6595b64144ccf1df" />',
    '"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",',
    'char *key = "__cb_#name#";',
    "ident_token = f'[{xid.start}][{xid.cont}]*'",
    '_PassArg.environment: "environment",',
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_values_in_the_same_syntaxes_are_left(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == text
