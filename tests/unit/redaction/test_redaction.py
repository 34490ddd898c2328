"""Secrets are redacted in every encoding a log can show (issue #12 item 4)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus, urlencode

from dealerfunnel.redaction import redact, variants

SECRET = "s3cr/t+pw=@:%AbC"


def test_every_encoding_is_a_variant():
    found = set(variants(SECRET))
    for encoded in (
        SECRET,
        quote(SECRET, safe=""),
        quote(SECRET),
        quote_plus(SECRET),
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
        json.dumps(SECRET)[1:-1],
        quote(SECRET, safe="").lower().replace("abc", "AbC"),  # lowercase hex digits
    ):
        assert encoded in found, encoded


def test_redact_form_body_json_and_base64():
    body = urlencode({"client_secret": SECRET, "grant_type": "refresh_token"})
    text = (
        f"HTTP 400: {body} | {json.dumps({'s': SECRET})} | "
        f"{base64.b64encode(SECRET.encode()).decode()} | {SECRET}"
    )
    out = redact(text, [SECRET])
    assert "grant_type=refresh_token" in out
    for value in variants(SECRET):
        assert value not in out


def test_short_values_are_not_secrets():
    assert variants("abc") == []
    assert redact("abc abc", ["abc"]) == "abc abc"
