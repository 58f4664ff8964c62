"""Token shapes of SaaS products, payments, messaging, social networks, webhooks, and structured secrets
(private keys, JWTs). Sources as in :mod:`.tokens_dev`."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace

from .rule import ALNUM, HEX, RB, RBW, URL_CHARS, UUID, TokenRule, inner, prefixed, random_body

R = random_body


def _pem_body(secret: str) -> bool:
    """A key block with a body (not `-----BEGIN PRIVATE KEY-----\\nanything\\n-----END...`); a block cut
    off before its END line is masked whatever follows."""
    if "-----END" not in secret:
        return True
    body = secret.split("-----", 2)[2].split("-----END", 1)[0]
    return sum(c.isalnum() or c in "+/=" for c in body) >= 40


def _jwt_header(secret: str) -> bool:
    """The first segment of a JWT decodes to a JSON object (so `eyJ...` prose and ids are left)."""
    head = secret.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except (binascii.Error, ValueError):
        return False
    return decoded.lstrip().startswith(b"{")


MESSAGING_RULES: list[TokenRule] = [
    prefixed("SLACK_TOKEN", "xoxb-|xoxp-|xoxa-|xoxr-|xoxe-|xoxs-|xoxo-|xoxc-|xoxd-", r"(?:[0-9]{1,2}-)?[0-9]{8,14}-[A-Za-z0-9-]{8,}+",
             src="gitleaks slack-*-token; detect-secrets slack"),
    prefixed("SLACK_TOKEN", "xoxe.xoxp-|xoxe.xoxb-", r"[0-9]-[A-Za-z0-9]{100,}+", src="gitleaks slack-config-access-token"),
    # Legacy tokens: numeric segments of any length (`xoxp-<6 digits>-<6>-<6>-<hex>`), and workspace tokens
    # (`xoxa-2-<alnum>`), which the rule above, written for today's 8-14 digit ids, does not reach.
    prefixed("SLACK_TOKEN", "xoxb-|xoxp-|xoxa-|xoxr-|xoxo-|xoxs-", r"[0-9]{1,14}(?:-[0-9]{1,14}){1,3}-[A-Za-z0-9]{8,}+",
             src="gitleaks slack-legacy-token; detect-secrets slack"),
    prefixed("SLACK_TOKEN", "xoxa-|xoxr-", r"(?:[0-9]-)?[A-Za-z0-9]{8,48}" + RB, check=R(5, 8), src="gitleaks slack-legacy-workspace-token"),
    prefixed("SLACK_TOKEN", "xapp-", r"[0-9]-[A-Za-z0-9-]{10,}+", src="gitleaks slack-app-token"),
    # Webhook URLs are masked whole: the scheme and host before the literal are extended over.
    inner("SLACK_WEBHOOK", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}+", "hooks.slack.com/", lead=URL_CHARS,
          back=8, src="gitleaks slack-webhook-url (http and https)"),
    inner("DISCORD_WEBHOOK", r"discord(?:app)?\.com/api/webhooks/[0-9]{5,}+/[A-Za-z0-9_-]{20,}+",
          "discord.com/api/webhooks/ discordapp.com/api/webhooks/", lead=URL_CHARS, back=15, src="trufflehog discordwebhook"),
    inner("TEAMS_WEBHOOK", r"webhookb2/[A-Za-z0-9@/-]{40,}+", "webhookb2/", lead=URL_CHARS, back=90, src="gitleaks microsoft-teams-webhook"),
    inner("ZAPIER_WEBHOOK", r"hooks\.zapier\.com/hooks/catch/[A-Za-z0-9/]{10,}+", "hooks.zapier.com/hooks/catch/", src="trufflehog zapierwebhook"),
    inner("IFTTT_KEY", r"/with/key/([A-Za-z0-9_-]{20,}+)", "/with/key/", group=1, src="IFTTT Maker webhooks"),
    inner("TINES_WEBHOOK", r"\.tines\.com/webhook/[a-z0-9]{32}/[a-z0-9]{32}", ".tines.com/webhook/", src="trufflehog tineswebhook"),
    inner("TELEGRAM_BOT_TOKEN", r":A(?<=[0-9]{5}:A)[A-Za-z0-9_-]{32,}+", "0:a 1:a 2:a 3:a 4:a 5:a 6:a 7:a 8:a 9:a", lead="0123456789", back=16,
          src="gitleaks telegram-bot-api-token; detect-secrets telegram_token"),
    prefixed("TWILIO_KEY", "AC|SK", HEX + "{32}" + RB, src="gitleaks twilio-api-key; detect-secrets twilio"),
    # No literal to look for: runs over the whole text (a single first-character class keeps that cheap).
    TokenRule("DISCORD_TOKEN", re.compile(r"[MNO](?:(?<![A-Za-z0-9_-].)|(?<=[0-9;\[]m.))[A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}+"),
              (), check=R(0, 40), source="detect-secrets discord"),
    prefixed("SENDGRID_KEY", "SG.", r"[A-Za-z0-9_=-]{16,}+\.[A-Za-z0-9_=.-]{16,}+", src="gitleaks sendgrid-api-token"),
    # gitleaks' shape: 66 characters after `SG.` with the dot anywhere (the rule above wants the documented 22.43).
    prefixed("SENDGRID_KEY", "SG.", r"[A-Za-z0-9=_.-]{66}(?![A-Za-z0-9=_.-])", check=R(3, 40), src="gitleaks sendgrid-api-token"),
    prefixed("MAILGUN_KEY", "key-|pubkey-", HEX + "{32}" + RB, src="gitleaks mailgun-private-api-token, mailgun-pub-key"),
    inner("MAILCHIMP_KEY", r"-us(?<=(?:(?<![0-9a-f])|(?<=[0-9;\\[]m))[0-9a-f]{32}-us)[0-9]{1,2}" + RB, "-us", lead="0123456789abcdef", back=32,
          src="gitleaks mailchimp-api-key"),
    prefixed("BREVO_KEY", "xkeysib-|xsmtpsib-", r"[a-f0-9]{64}-[A-Za-z0-9]{16}" + RB, src="gitleaks sendinblue-api-token"),
    prefixed("MANDRILL_KEY", "md-", r"[A-Za-z0-9_-]{22}" + RBW, check=R(3, 20), src="Mandrill API keys", strict=True),
    inner("FIREBASE_FCM_KEY", r":APA91b(?<=AAAA[A-Za-z0-9_-]{7}:APA91b)[A-Za-z0-9_-]{100,}+", ":apa91b", lead=ALNUM + "_-", back=11,
          src="Firebase Cloud Messaging server keys"),
]

COMMERCE_RULES: list[TokenRule] = [
    prefixed("STRIPE_KEY", "sk_live_|sk_test_|sk_prod_|rk_live_|rk_test_|rk_prod_|pk_live_|pk_test_", r"[A-Za-z0-9]{10,}+",
             src="gitleaks stripe-access-token; detect-secrets stripe"),
    prefixed("STRIPE_KEY", "whsec_", r"[A-Za-z0-9]{24,}+", src="Stripe webhook signing secrets"),
    inner("STRIPE_KEY", r"_secret_(?<=(?:(?<![A-Za-z0-9_])|(?<=[0-9;\\[]m))pi_[A-Za-z0-9]{24}_secret_)[A-Za-z0-9]{25}" + RB, "_secret_", lead=ALNUM + "_",
          back=27, src="trufflehog stripepaymentintent"),
    prefixed("SQUARE_TOKEN", "sq0atp-|sq0csp-|sq0idp-|sq0idb-|sandbox-sq0atb-|sandbox-sq0csb-", r"[A-Za-z0-9_\\-]{22,60}" + RBW,
             src="gitleaks square-access-token; detect-secrets square_oauth"),
    prefixed("PAYPAL_TOKEN", "access_token$production$|access_token$sandbox$", r"[0-9a-z]{16}\$[0-9a-f]{32}" + RB,
             src="Braintree/PayPal access tokens"),
    prefixed("SHOPIFY_TOKEN", "shpat_|shpca_|shppa_|shpss_", r"[a-fA-F0-9]{32}" + RB, src="gitleaks shopify-*"),
    prefixed("FLUTTERWAVE_KEY", "FLWSECK_TEST-|FLWPUBK_TEST-|FLWSECK-|FLWPUBK-", r"[a-hA-H0-9]{12,32}(?:-X)?" + RB,
             src="gitleaks flutterwave-*"),
    prefixed("RAZORPAY_KEY", "rzp_live_|rzp_test_", r"[A-Za-z0-9]{14}" + RB, src="trufflehog razorpay"),
    prefixed("DUFFEL_TOKEN", "duffel_test_|duffel_live_", r"[A-Za-z0-9_=-]{43}" + RBW, src="gitleaks duffel-api-token"),
    prefixed("EASYPOST_TOKEN", "EZAK|EZTK", r"[A-Za-z0-9]{54}" + RB, src="gitleaks easypost-*"),
    prefixed("SHIPPO_TOKEN", "shippo_live_|shippo_test_", r"[a-fA-F0-9]{40}" + RB, src="gitleaks shippo-api-token"),
    prefixed("LOB_KEY", "live_|test_", r"(?:pub_)?[a-f0-9]{31,35}" + RB, check=R(5), src="gitleaks lob-api-key, lob-pub-api-key", strict=True),
    prefixed("GOCARDLESS_TOKEN", "live_", r"[A-Za-z0-9_=-]{40}" + RBW, check=R(5), src="gitleaks gocardless-api-token"),
    prefixed("PLAID_TOKEN", "access-sandbox-|access-development-|access-production-", UUID, src="gitleaks plaid-api-token"),
    prefixed("COINBASE_KEY", "organizations/", r"[0-9a-f-]{36}/apiKeys/[0-9a-f-]{36}", src="trufflehog coinbase"),
    prefixed("PADDLE_KEY", "pdl_live_apikey_|pdl_sdbx_apikey_", r"[A-Za-z0-9_]{30,}+", src="Paddle API keys"),
]

SAAS_RULES: list[TokenRule] = [
    prefixed("FACEBOOK_TOKEN", "EAA", r"[A-Za-z0-9]{90,}+", check=R(3, 40), src="gitleaks facebook-page-access-token"),
    prefixed("SQUARE_TOKEN", "EAAA", r"[A-Za-z0-9_-]{22,60}" + RBW, check=R(4), src="gitleaks square-access-token"),
    inner("FACEBOOK_TOKEN", r"(?:\|(?<=[0-9]{15}\|)|%7[Cc](?<=[0-9]{15}%7[Cc]))[0-9A-Za-z_-]{27,40}" + RBW,
          "0| 1| 2| 3| 4| 5| 6| 7| 8| 9| %7c", lead="0123456789", back=16,
          check=lambda s: any(c.isalpha() for c in s[17:]), src="gitleaks facebook-access-token"),
    prefixed("INSTAGRAM_TOKEN", "IGQV", r"[A-Za-z0-9_-]{100,}+", src="Instagram Graph API tokens"),
    # Whole-text (the literal is a run of one letter, which would flood the automaton on base64 of zeros).
    TokenRule("TWITTER_BEARER", re.compile(r"A{22}(?:(?<![A-Za-z0-9_]A{22})|(?<=[0-9;\[]mA{22}))[A-Za-z0-9%]{60,}+"), (), source="gitleaks twitter-bearer-token"),
    prefixed("DROPBOX_TOKEN", "sl.", r"[A-Za-z0-9_=-]{120,}+", src="gitleaks dropbox-short-lived-api-token"),
    prefixed("NOTION_TOKEN", "secret_", r"[A-Za-z0-9]{43}" + RB, src="trufflehog notion"),
    prefixed("NOTION_TOKEN", "ntn_", r"[A-Za-z0-9]{40,}+", src="gitleaks notion-api-token"),
    prefixed("LINEAR_KEY", "lin_api_", r"[A-Za-z0-9]{40,}+", src="gitleaks linear-api-key"),
    prefixed("LINEAR_KEY", "lin_oauth_", HEX + "{64}" + RB, src="Linear OAuth tokens"),
    prefixed("AIRTABLE_TOKEN", "pat", r"[A-Za-z0-9]{14}\.[a-f0-9]{64}" + RB, src="gitleaks airtable-personnal-access-token"),
    prefixed("CONTENTFUL_TOKEN", "CFPAT-", r"[A-Za-z0-9_-]{43}" + RBW, src="trufflehog contentfulpersonalaccesstoken"),
    prefixed("MAPBOX_TOKEN", "pk.eyJ|sk.eyJ|tk.eyJ", r"[A-Za-z0-9_-]{20,}+\.[A-Za-z0-9_-]{20,}+", src="gitleaks mapbox-api-token; trufflehog mapbox"),
    prefixed("MAPBOX_TOKEN", "pk.|sk.", r"[A-Za-z0-9]{60}\.[A-Za-z0-9]{22}" + RB, check=R(3, 40), strict=True, src="gitleaks mapbox-api-token"),
    prefixed("TYPEFORM_TOKEN", "tfp_", r"[A-Za-z0-9_.=-]{40,}+", src="gitleaks typeform-api-token"),
    prefixed("HUBSPOT_TOKEN", "pat-na1-|pat-eu1-|pat-na2-|pat-ap1-", UUID, src="trufflehog hubspot_apikey v2"),
    prefixed("LAUNCHDARKLY_KEY", "api-|sdk-|mob-", UUID, src="trufflehog launchdarkly"),
    prefixed("POSTHOG_KEY", "phx_", r"[A-Za-z0-9_]{40,}+", src="trufflehog posthog"),
    prefixed("CLICKUP_TOKEN", "pk_", r"[0-9]{5,}_[A-Z0-9]{32}" + RB, src="ClickUp personal tokens"),
    prefixed("PUBNUB_KEY", "sub-c-|pub-c-|sec-c-", UUID, src="trufflehog pubnub*"),
    prefixed("ROOTLY_KEY", "rootly_", HEX + "{64}" + RB, src="trufflehog rootly"),
    prefixed("NIGHTFALL_KEY", "NF-", r"[A-Za-z0-9]{32}" + RB, src="trufflehog nightfall"),
    prefixed("UBIDOTS_TOKEN", "BBFF-", r"[A-Za-z0-9]{30}" + RB, src="trufflehog ubidots"),
    prefixed("APIFY_TOKEN", "apify_api_", r"[A-Za-z0-9]{36}" + RB, src="trufflehog apify"),
    prefixed("ADAFRUIT_KEY", "aio_", r"[A-Za-z0-9]{28}" + RB, src="trufflehog adafruitio"),
    prefixed("FLEETBASE_KEY", "flb_live_", r"[A-Za-z0-9]{20}" + RB, src="trufflehog fleetbase"),
    prefixed("RAMP_KEY", "ramp_id_|ramp_sec_", r"[A-Za-z0-9]{40,48}" + RB, src="trufflehog ramp"),
    prefixed("DENO_TOKEN", "ddp_|ddw_", r"[A-Za-z0-9]{36}" + RB, src="trufflehog deno"),
    prefixed("SALAD_KEY", "salad_cloud_", r"[A-Za-z0-9]{1,7}_[A-Za-z0-9]{7,235}+", src="trufflehog saladcloudapikey"),
    prefixed("ZOHO_TOKEN", "1000.", r"[a-f0-9]{32}\.[a-f0-9]{32}" + RB, src="trufflehog zohocrm"),
    prefixed("VOICEFLOW_KEY", "VF.", r"(?:DM\.|WS\.)?[a-fA-F0-9]{24}\.[A-Za-z0-9]{16}" + RB, src="trufflehog voiceflow"),
    prefixed("SALESFORCE_TOKEN", "5AEP861", r"[A-Za-z0-9._=]{80,}+", src="trufflehog salesforcerefreshtoken"),
    prefixed("SALESFORCE_KEY", "3MVG9", r"[0-9A-Za-z._+/=]{80,}+", src="trufflehog salesforceoauth2"),
    prefixed("ENDOR_KEY", "endr+", r"[A-Za-z0-9-]{16}" + RB, src="trufflehog endorlabs"),
    prefixed("ROBINHOOD_KEY", "rh-api-", UUID, src="trufflehog robinhoodcrypto"),
    prefixed("FULLSTORY_KEY", "na1.", r"[A-Za-z0-9+/]{100}", check=R(4), src="trufflehog fullstory v2"),
    prefixed("TRUFFLEHOG_KEY", "thog-key-|thog-secret-", r"[0-9a-f]{16,32}" + RB, src="trufflehog trufflehogenterprise"),
]

STRUCTURED_RULES: list[TokenRule] = [
    inner(
        "PRIVATE_KEY",
        r"-----BEGIN[A-Z0-9 _-]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[^-]++|-(?!----END))*+"
        r"(?:-----END[A-Z0-9 _-]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
        "-----begin", check=_pem_body, src="gitleaks private-key; trufflehog privatekey; detect-secrets private_key",
    ),
    inner("SIDEKIQ_SECRET", r"__CONTRIBSYS__COM(?:(?<=BUNDLE_ENTERPRISE__CONTRIBSYS__COM)|(?<=BUNDLE_GEMS__CONTRIBSYS__COM))"
          r"[ \t]*+[:=][ \t]*+[\"']?([a-f0-9]{8}:[a-f0-9]{8})" + RB, "__contribsys__com", group=1, src="gitleaks sidekiq-secret"),
    inner("PRIVATE_KEY", r"Private-Lines:[ \t]*+[0-9]++\r?\n(?:[A-Za-z0-9+/=]++\r?\n?)++", "private-lines:",
          src="PuTTY private key files"),
    # Looked for up to 16 KB past `eyJ`: a JWT whose payload outruns the scanner's default window (Entra ID and
    # Kubernetes tokens run 1-3 KB) would otherwise never show its second dot and be left whole.
    replace(prefixed("JWT", "eyJ|ewogIC|ewoi", r"[A-Za-z0-9_-]{8,}+={0,2}\.(?:eyJ|ewo)[A-Za-z0-9_-]{8,}+={0,2}\.[A-Za-z0-9_-]*+",
                     check=_jwt_header, src="gitleaks jwt; trufflehog jwt; detect-secrets jwt"), fwd=16_384),
    prefixed("JWT", "ZXlK", r"[A-Za-z0-9+/]{60,}+={0,2}", src="gitleaks jwt-base64"),
]
