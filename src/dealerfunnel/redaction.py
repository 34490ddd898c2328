"""Keep secrets out of every log line and message, in every encoding they can take there.

A secret reaches a log as it is, but also URL-encoded (a form body or a query string, with
``quote`` or ``quote_plus``, ``/`` escaped or not), base64-encoded (HTTP Basic auth, tokens
passed through) or JSON-escaped (a request or error body echoed back). :func:`variants`
lists those encodings; :func:`redact` replaces each with ``***``; :func:`register` hands every
variant to Airflow's secrets masker (``airflow.sdk.log.mask_secret``), which then masks them in
the task log and in the supervisor's. Airflow masks only the raw value of a Connection's
password by itself.

Limits: a secret embedded *inside* a larger base64 value (``user:password`` of Basic auth) is
only caught when the whole value is registered too (the connectors never log such values).
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

log = logging.getLogger(__name__)

MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words; never treat them as secrets
MASK = "***"
_PERCENT = re.compile(r"%[0-9A-F]{2}")


def variants(secret: str) -> list[str]:
    """``secret`` and every encoding of it a log may show, longest first, no duplicates."""
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        return []
    raw = secret.encode("utf-8")
    found = {
        secret,
        quote(secret, safe=""),
        quote(secret),  # keeps "/"
        quote_plus(secret),
        quote_plus(secret, safe="/"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        found.update({text, text.rstrip("=")})
    # URL-encoded with lowercase hex digits (some clients emit %2f)
    found.update({_PERCENT.sub(lambda m: m.group(0).lower(), v) for v in list(found)})
    return sorted((v for v in found if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def all_variants(secrets: Iterable[str]) -> list[str]:
    out: set[str] = set()
    for secret in secrets:
        out.update(variants(secret))
    return sorted(out, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every variant of every secret replaced by ``***``."""
    for value in all_variants(secrets):
        text = text.replace(value, MASK)
    return text


def register(secrets: Iterable[str]) -> None:
    """Register every variant of ``secrets`` with Airflow's secrets masker (task and
    supervisor). A no-op where Airflow is not installed."""
    values = all_variants(secrets)
    if not values:
        return
    try:
        from airflow.sdk.log import mask_secret
    except Exception:  # Airflow absent (a library use of the connectors)
        return
    for value in values:
        try:
            mask_secret(value)
        except Exception:  # masking is best effort; our own redaction still applies
            log.debug("could not register a secret variant with Airflow's masker")
