"""Errors raised by the source connectors; messages name the connection id, never a secret."""

from __future__ import annotations

from dealerfunnel.settings import ConfigError


class SourceError(RuntimeError):
    """Base class of every connector error."""


class SourceConfigError(ConfigError):
    """``config/sources.yml`` or an Airflow Connection is invalid; the message names the key."""


class ConnectionNotDefined(SourceConfigError):
    """The source's Airflow Connection does not exist: the source is not configured."""


class AuthFailed(SourceError):
    """The API rejected the credentials (HTTP 401/403, Meta code 190, OAuth ``invalid_grant``).

    Never retried: the task fails fast. The message names the Airflow connection to fix.
    """

    def __init__(self, conn_id: str, detail: str) -> None:
        self.conn_id = conn_id
        super().__init__(
            f"authentication failed for Airflow connection {conn_id!r}: {detail} "
            f"(check the credentials of connection {conn_id!r}; nothing was loaded)"
        )


class ApiError(SourceError):
    """A non-retryable API error (bad request, unknown object, ...)."""


class RetriesExhausted(SourceError):
    """Transient failures persisted beyond the attempt or time budget."""


class SourceUnreachable(RetriesExhausted):
    """No attempt reached the API's server (refused, DNS, connect timeout) within the budget."""


class ConcurrentExtract(SourceError):
    """Another extract moved the same watermark while this one ran; this one stops."""
