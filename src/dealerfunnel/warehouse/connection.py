"""Resolve and open the warehouse connection.

Precedence: the Airflow Connection ``warehouse`` (inside a task), then ``WAREHOUSE_URL``, then
an embedded PostgreSQL started under the project's data folder (see :mod:`.embedded`), for
developer runs only: with ``DEALERFUNNEL_DEPLOYMENT`` set (the docker-compose image sets it), a
missing or unreadable ``warehouse`` Connection is an error (:class:`WarehouseNotConfigured`),
never a silent embedded server on a worker.

``WAREHOUSE_URL`` is ``postgresql://[user[:password]@]host[:port]/database[?key=value...]``
(``postgres://`` and ``postgresql+psycopg://`` accepted). The password may be in the userinfo
or in ``?password=``; an unescaped ``@`` in the password is read correctly (the host follows
the LAST ``@``); ``?host=/socket/folder`` names a Unix socket folder. Anything else (another
scheme, a port outside 1-65535, no host, garbage) is a :class:`WarehouseUrlInvalid`
(a :class:`~dealerfunnel.settings.ConfigError`: the CLI prints ``configuration error:
WAREHOUSE_URL: ...`` and exits 2). Credentials are never logged: every message uses
:func:`mask_url`, which masks the password wherever the URL carries it.

Pipeline tasks do not work as that (admin) login: :func:`task_warehouse_url` gives the
extract tasks the ``dealerfunnel_loader`` role and dbt, the gates and publish the
``dealerfunnel_transformer`` role, through their own Connections ``warehouse_loader`` /
``warehouse_transformer`` when defined, else by starting the admin login's sessions as that
role (``options=-c role=...``). The admin login keeps only the DDL of ``raw``/``ops``, the
roles and grants, and the alert tasks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, quote, unquote, urlencode

import psycopg

from dealerfunnel.settings import ConfigError

CONNECTION_ID = "warehouse"
CONNECT_TIMEOUT_SECONDS = 5
DEPLOYMENT_VARIABLE = "DEALERFUNNEL_DEPLOYMENT"
SCHEMES = ("postgresql", "postgres")
SECRET_QUERY_KEYS = ("password", "sslpassword")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class WarehouseUnreachable(RuntimeError):
    """The warehouse is unreachable; the message names host and database, never the password."""


class WarehouseUrlInvalid(ConfigError):
    """``WAREHOUSE_URL`` (or a warehouse URL) is malformed; the message masks the password."""


class WarehouseNotConfigured(ConfigError):
    """In a deployment, the ``warehouse`` Airflow Connection is missing or unreadable."""


def is_deployment() -> bool:
    """``DEALERFUNNEL_DEPLOYMENT`` is truthy (1, true, yes, on): no embedded warehouse."""
    return os.environ.get(DEPLOYMENT_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


# -- parsing ------------------------------------------------------------------------------------


def _split(url: str) -> tuple[str, str | None, str, str, str]:
    """``(scheme, userinfo or None, hostport, path, query)`` of any ``scheme://`` URL; the
    host follows the last ``@`` before the query. :class:`ValueError` without ``://``."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not scheme:
        raise ValueError("not a URL")
    rest = rest.split("#", 1)[0]
    before_query, qsep, query = rest.partition("?")
    userinfo = None
    at = before_query.rfind("@")
    if at >= 0:
        userinfo, before_query = before_query[:at], before_query[at + 1 :]
    hostport, slash, path = before_query.partition("/")
    return scheme, userinfo, hostport, slash + path, query if qsep else ""


def _mask_query(query: str) -> str:
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        if eq and unquote(key).lower() in SECRET_QUERY_KEYS and value:
            value = "***"
        pairs.append(f"{key}{eq}{value}")
    return "?" + "&".join(pairs)


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` wherever it is (userinfo, ``?password=``,
    a password containing ``@``). Any scheme; an unparseable value shows nothing."""
    try:
        scheme, userinfo, hostport, path, query = _split(url)
    except ValueError:
        return "<unparseable URL>"
    auth = ""
    if userinfo is not None:
        user, colon, password = userinfo.partition(":")
        auth = f"{user}:***@" if colon and password else f"{user}@"
    return f"{scheme}://{auth}{hostport}{path}{_mask_query(query)}"


@dataclass(frozen=True)
class WarehouseUrl:
    """A parsed warehouse URL (see the module docstring)."""

    user: str
    password: str
    host: str  # a name, an address, or a socket folder (from ?host=)
    port: int
    dbname: str
    query: tuple[tuple[str, str], ...] = field(default=())  # the other parameters

    def libpq(self) -> str:
        """A libpq URI with every part escaped (the password in the userinfo)."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        params = list(self.query)
        if self.host.startswith("/"):
            hostport = ""
            params = [("host", self.host), *params]
        else:
            hostport = self.host + (f":{self.port}" if self.port != 5432 else "")
        if self.port != 5432 and self.host.startswith("/"):
            params.append(("port", str(self.port)))
        tail = "?" + urlencode(params, safe="/", quote_via=quote) if params else ""
        return f"postgresql://{auth}@{hostport}/{quote(self.dbname, safe='')}{tail}"


def parse_warehouse_url(url: str, what: str = "WAREHOUSE_URL") -> WarehouseUrl:
    """Parse ``url``; :class:`WarehouseUrlInvalid` (``<what>: <problem> (<masked url>)``)."""

    def invalid(problem: str) -> WarehouseUrlInvalid:
        return WarehouseUrlInvalid(f"{what}: {problem} ({mask_url(url)})")

    if not isinstance(url, str) or not url.strip():
        raise WarehouseUrlInvalid(f"{what}: empty")
    try:
        scheme, userinfo, hostport, path, query = _split(url)
    except ValueError:
        raise WarehouseUrlInvalid(
            f"{what}: not a URL; expected postgresql://user:password@host:port/database"
        ) from None
    if scheme.lower().split("+", 1)[0] not in SCHEMES:
        raise invalid(f"must start with postgresql:// (got {scheme}://)")
    params = parse_qsl(query, keep_blank_values=True)
    named = {k.lower(): v for k, v in params}
    user, password = "", ""
    if userinfo is not None:
        raw_user, _, raw_password = userinfo.partition(":")
        user, password = unquote(raw_user), unquote(raw_password)
    password = password or named.get("password", "")
    host, port_text = hostport, ""
    if hostport.startswith("["):  # [ipv6]:port
        close = hostport.find("]")
        if close < 0:
            raise invalid("unclosed [ in the host")
        host, port_text = hostport[: close + 1], hostport[close + 1 :].removeprefix(":")
    elif ":" in hostport:
        host, _, port_text = hostport.partition(":")
    host = unquote(host) or named.get("host", "")
    if not host:
        raise invalid("no host (give host[:port], or ?host=/socket/folder)")
    port_text = port_text or named.get("port", "") or "5432"
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise invalid(f"port must be a number from 1 to 65535, got {port_text!r}")
    dbname = unquote(path.lstrip("/")) or named.get("dbname", "") or "postgres"
    rest = tuple(
        (k, v) for k, v in params if k.lower() not in ("host", "port", "dbname", "password")
    )
    return WarehouseUrl(
        user=user or "postgres",
        password=password,
        host=host,
        port=int(port_text),
        dbname=dbname,
        query=rest,
    )


def to_libpq(url: str) -> str:
    """Any accepted warehouse URL (``postgresql+psycopg://``, ``?password=``, ``@`` in the
    password, ...) as a libpq URI psycopg reads correctly."""
    return parse_warehouse_url(url).libpq()


def to_sqlalchemy(url: str) -> str:
    return "postgresql+psycopg://" + to_libpq(url).partition("://")[2]


def url_parts(url: str) -> dict[str, str]:
    """Host, port, user, password and database of ``url`` (host may be a socket folder)."""
    parsed = parse_warehouse_url(url)
    return {
        "host": parsed.host,
        "port": str(parsed.port),
        "user": parsed.user,
        "password": parsed.password,
        "dbname": parsed.dbname,
    }


def _url_from_airflow_connection(
    conn_id: str = CONNECTION_ID, *, required: bool | None = None
) -> str | None:
    """The Airflow Connection ``conn_id`` as a URL, when running where Airflow is configured.

    When ``required`` (default: in a deployment, :func:`is_deployment`, for ``warehouse``) a
    missing or unreadable Connection raises :class:`WarehouseNotConfigured`; otherwise it
    means "not configured here" (None).
    """
    deployment = is_deployment() if required is None else required
    if not deployment and not any(
        k.startswith("AIRFLOW_CONN_") or k == "AIRFLOW_HOME" for k in os.environ
    ):
        return None
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:
        if deployment:
            raise WarehouseNotConfigured(
                f"{DEPLOYMENT_VARIABLE} is set and the Airflow Connection {CONNECTION_ID!r} "
                f"cannot be read ({type(exc).__name__}); define it (AIRFLOW_CONN_WAREHOUSE or "
                "the secrets backend). No embedded warehouse is started in a deployment."
            ) from None
        return None
    return connection_to_url(conn)


def connection_to_url(conn) -> str:
    """Build a libpq URL from an Airflow Connection object (host may be a socket folder)."""
    user = quote(conn.login or "postgres", safe="")
    password = f":{quote(conn.password, safe='')}" if conn.password else ""
    db = quote(conn.schema or "postgres", safe="")
    host = conn.host or "localhost"
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{db}?host={quote(host, safe='/')}"
    port = f":{conn.port}" if conn.port else ""
    return f"postgresql://{user}{password}@{host}{port}/{db}"


def resolve_warehouse_url(*, start_embedded: bool = True) -> str:
    """Find the warehouse URL (see module docstring); may start the embedded server."""
    url = _url_from_airflow_connection() or os.environ.get("WAREHOUSE_URL")
    if url:
        return to_libpq(url)
    if is_deployment():
        raise WarehouseNotConfigured(
            f"{DEPLOYMENT_VARIABLE} is set and no warehouse is configured (the Airflow "
            f"Connection {CONNECTION_ID!r} or WAREHOUSE_URL); no embedded warehouse is started "
            "in a deployment."
        )
    if not start_embedded:
        raise WarehouseUnreachable(
            "WAREHOUSE_URL is not set and the embedded warehouse is disabled"
        )
    from dealerfunnel.warehouse.embedded import embedded_url

    return embedded_url()


def with_session_role(url: str, role: str) -> str:
    """``url`` whose sessions start as ``role`` (libpq ``options=-c role=<role>``, kept with
    any other options of the URL): the login must be a member of ``role``, and every session
    then has that role's privileges only, as after ``SET ROLE``."""
    if not _ROLE_NAME.match(role):
        raise ValueError(f"not a role name: {role!r}")
    parsed = parse_warehouse_url(url)
    others = tuple((k, v) for k, v in parsed.query if k.lower() != "options")
    options = " ".join(v for k, v in parsed.query if k.lower() == "options")
    options = f"{options} -c role={role}".strip()
    return replace(parsed, query=(*others, ("options", options))).libpq()


def libpq_options(url: str) -> str:
    """The libpq ``options`` of ``url`` (e.g. its session role), for clients given the parts
    of the URL rather than the URL itself (dbt: ``PGOPTIONS``)."""
    return " ".join(v for k, v in parse_warehouse_url(url).query if k.lower() == "options")


def task_warehouse_url(job: str, *, start_embedded: bool = True) -> str:
    """The warehouse URL of a pipeline task doing ``job``: ``loader`` (extract: writes
    ``raw`` and ``ops``) or ``transformer`` (dbt, quality gates, publish, docs, reports).

    Least privilege (DESIGN.md §5): the Airflow Connection ``warehouse_<job>`` when it is
    defined (a login of its own, member of ``dealerfunnel_<job>``); otherwise the
    ``warehouse`` Connection (or ``WAREHOUSE_URL``, or the embedded server) with its sessions
    started as ``dealerfunnel_<job>`` (:func:`with_session_role`), which that login must be a
    member of (``ensure_roles`` grants it when the login is not a superuser).
    """
    from dealerfunnel.access.roles import TASK_ROLES

    if job not in TASK_ROLES:
        raise ValueError(f"unknown task job {job!r}; expected one of {sorted(TASK_ROLES)}")
    own = _url_from_airflow_connection(f"{CONNECTION_ID}_{job}", required=False)
    if own:
        return to_libpq(own)
    return with_session_role(resolve_warehouse_url(start_embedded=start_embedded), TASK_ROLES[job])


def check_reachable(url: str) -> None:
    """Connect once with a short timeout; raise :class:`WarehouseUnreachable` naming the target."""
    parts = url_parts(url)
    try:
        with psycopg.connect(to_libpq(url), connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if parts["password"]:
            from dealerfunnel.redaction import redact

            reason = redact(reason, [parts["password"]])
        raise WarehouseUnreachable(
            f"warehouse unreachable: host={parts['host']} port={parts['port']} "
            f"database={parts['dbname']} ({mask_url(url)}): {reason}"
        ) from None


@contextmanager
def connect(url: str | None = None, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """Open a psycopg connection to the warehouse (resolved when ``url`` is None)."""
    url = url or resolve_warehouse_url()
    try:
        conn = psycopg.connect(
            to_libpq(url), connect_timeout=CONNECT_TIMEOUT_SECONDS, autocommit=autocommit
        )
    except psycopg.OperationalError:
        check_reachable(url)  # raises the clear, masked error
        raise
    with conn:
        yield conn


def airflow_connection_json(url: str) -> str:
    """``url`` as the JSON form of an Airflow Connection (for ``AIRFLOW_CONN_WAREHOUSE``)."""
    import json

    parts = url_parts(url)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": parts["host"],
            "port": int(parts["port"]),
            "login": parts["user"],
            "password": parts["password"] or None,
            "schema": parts["dbname"],
        }
    )
