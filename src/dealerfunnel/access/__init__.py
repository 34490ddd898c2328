"""Who may read what (DESIGN.md §5): database roles, grants and per-dealer row-level security.

- :func:`ensure_roles` creates the group roles and the ``access`` schema idempotently
  (``make roles``, the ``ensure_access`` task of ``funnel_transform``, ``make demo``);
- :func:`grant_reader` maps a login role to the dealers it may read, :func:`grant_hq` makes
  one an HQ reader, :func:`ensure_login` creates a BI tool's login (password hashed here);
- the dbt post-hook ``apply_reader_access()`` (``dbt_project/macros/access.sql``) grants
  SELECT to the readers and enables row-level security on every mart table with a
  ``dealer_code`` as dbt (re)creates it, so the write-audit-publish swap keeps both.
"""

from dealerfunnel.access.roles import (
    DEALER_READER,
    HQ_READER,
    LOADER,
    TRANSFORMER,
    ensure_login,
    ensure_roles,
    grant_hq,
    grant_reader,
    revoke_reader,
)

__all__ = [
    "DEALER_READER",
    "HQ_READER",
    "LOADER",
    "TRANSFORMER",
    "ensure_login",
    "ensure_roles",
    "grant_hq",
    "grant_reader",
    "revoke_reader",
]
