"""The key that pseudonymises customer names, phones and e-mails in the marts.

Marts carry a customer only as a keyed hash (HMAC-SHA256, so HQ can count and join without
seeing who it is) and a masked form (``138****1234``). The key is a secret: the ``password`` of
the Airflow Connection ``pii_hash_key``, or ``DEALERFUNNEL_PII_KEY``; never in the repo. On a
developer machine (not a deployment: ``DEALERFUNNEL_DEPLOYMENT`` unset) a random key is created
once in ``<data_dir>/secrets/pii_hash.key`` (mode 0600), so ``make demo``/``make run`` work with
no setup and hashes stay stable between runs; a deployment without a key fails with a message.

PostgreSQL has SHA-256 built in but no HMAC without pgcrypto (which the embedded server lacks),
so the key is turned here into HMAC's two padded keys and handed to dbt's sessions as custom
settings through ``PGOPTIONS`` (never in compiled SQL, dbt logs or artifacts); the dbt macro
``pii_hash()`` computes ``sha256(opad || sha256(ipad || value))``, which is HMAC-SHA256.
"""

from __future__ import annotations

import hashlib
import os
import secrets

from dealerfunnel.settings import ConfigError, data_dir

CONNECTION_ID = "pii_hash_key"
ENV_VAR = "DEALERFUNNEL_PII_KEY"
BLOCK_SIZE = 64  # SHA-256 block size in bytes
MIN_KEY_LENGTH = 16


def pii_key() -> bytes:
    """The secret key: Airflow Connection ``pii_hash_key`` (password), else the environment."""
    key = os.environ.get(ENV_VAR)
    if not key:
        try:
            from airflow.sdk import BaseHook

            key = BaseHook.get_connection(CONNECTION_ID).password
        except Exception:
            key = None
    if not key and not _is_deployment():
        key = _local_key()
    if not key or len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"PII hash key: set the password of the Airflow Connection {CONNECTION_ID!r} or "
            f"{ENV_VAR} to a secret of at least {MIN_KEY_LENGTH} characters"
        )
    return key.encode("utf-8")


def _is_deployment() -> bool:
    return os.environ.get("DEALERFUNNEL_DEPLOYMENT", "").strip().lower() in ("1", "true", "yes")


def _local_key() -> str:
    """A developer machine's key: created once under the data folder, readable by its owner."""
    path = data_dir() / "secrets" / "pii_hash.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def hmac_pads(key: bytes) -> tuple[str, str]:
    """HMAC-SHA256's inner and outer padded keys (hex) for ``key`` (RFC 2104)."""
    if len(key) > BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK_SIZE, b"\0")
    inner = bytes(b ^ 0x36 for b in key)
    outer = bytes(b ^ 0x5C for b in key)
    return inner.hex(), outer.hex()


def session_options(key: bytes) -> str:
    """``PGOPTIONS`` value that gives every dbt session the padded keys as custom settings."""
    inner, outer = hmac_pads(key)
    return f"-c dealerfunnel.pii_ipad={inner} -c dealerfunnel.pii_opad={outer}"
