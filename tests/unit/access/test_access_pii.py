"""The PII key's HMAC pads: SQL's sha256(opad || sha256(ipad || m)) must equal HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from dealerfunnel.access import pii
from dealerfunnel.settings import ConfigError


@pytest.mark.parametrize("key", [b"k" * 16, b"a-longer-secret-key-" * 5, "钥匙-secret-😀".encode()])
def test_pads_reproduce_hmac_sha256(key):
    inner, outer = (bytes.fromhex(h) for h in pii.hmac_pads(key))
    message = b"+8613812341234"
    as_sql_does = hashlib.sha256(outer + hashlib.sha256(inner + message).digest()).hexdigest()
    assert as_sql_does == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_session_options_carry_the_pads_not_the_key():
    key = b"sentinel-secret-0123456789"
    options = pii.session_options(key)
    assert key.decode() not in options and key.hex() not in options
    assert options.startswith("-c dealerfunnel.pii_ipad=")


def test_a_missing_or_short_key_names_where_to_set_it(monkeypatch):
    monkeypatch.setenv(pii.ENV_VAR, "short")
    with pytest.raises(ConfigError, match=r"pii_hash_key.*DEALERFUNNEL_PII_KEY"):
        pii.pii_key()
    monkeypatch.setenv(pii.ENV_VAR, "x" * 20)
    assert pii.pii_key() == b"x" * 20
