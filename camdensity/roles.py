"""Least privilege: the read-only API role, its grants, and the credentials the service uses."""

from __future__ import annotations

import base64
import hashlib
import hmac

import psycopg
from psycopg import sql as pgsql

from camdensity import sql
from camdensity.settings import DatabaseSettings

# Attributes that would make the API role more than a reader (pg_roles columns).
POWERS = ("rolsuper", "rolcreaterole", "rolcreatedb", "rolreplication", "rolbypassrls")


class RoleError(RuntimeError):
    """The API role cannot be set up safely (the message says what to do)."""


def derive_password(owner_password: str, role: str) -> str:
    """The API role's password: an HMAC of the owner's, so every replica derives the same one."""
    digest = hmac.new(owner_password.encode(), f"camdensity api role {role}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def api_credentials(owner_url: str, settings: DatabaseSettings) -> tuple[str, str | None]:
    """(the URL the API connects with, the password to give the role, or None to leave it).

    CAMDENSITY_API_DATABASE_URL when set; else the owner's URL with the API role as user and a
    password derived from the owner's (none when the owner's URL has none: peer authentication).
    """
    return role_credentials(owner_url, settings.api_role, settings.api_database_url)


def role_credentials(owner_url: str, role: str, given_url: str | None) -> tuple[str, str | None]:
    """(the URL `role` connects with, the password to give it, or None to leave it): `given_url`
    when set, else the owner's URL with `role` as user and a password derived from the owner's."""
    if given_url:
        return given_url, None
    info = psycopg.conninfo.conninfo_to_dict(owner_url)
    owner_password = info.pop("password", None)
    info["user"] = role
    password = derive_password(str(owner_password), role) if owner_password else None
    if password is not None:
        info["password"] = password
    return psycopg.conninfo.make_conninfo(**info), password


def _set_password(conn: psycopg.Connection, role: str, password: str) -> None:
    """Give `role` `password`; the server is sent a SCRAM verifier, never the password itself."""
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
    conn.execute(pgsql.SQL("ALTER ROLE {} PASSWORD {}").format(
        pgsql.Identifier(role), pgsql.Literal(verifier.decode())))


def _refuse_powers(conn: psycopg.Connection, role: str, setting: str, what: str,
                   must: str = "it must not") -> None:
    """RoleError when `role` has any of POWERS (e.g. a setting naming a superuser)."""
    row = conn.execute(
        pgsql.SQL("SELECT {} FROM pg_roles WHERE rolname = %s").format(
            pgsql.SQL(", ").join(pgsql.Identifier(p) for p in POWERS)),
        (role,),
    ).fetchone()
    powers = [p for p, on in zip(POWERS, row or (), strict=False) if on]
    if powers:
        raise RoleError(
            f"the {what} role {role!r} has {', '.join(powers)}: {must}; set "
            f"{setting} to a role of its own"
        )


def grant_api_role(conn: psycopg.Connection, settings: DatabaseSettings,
                   password: str | None = None) -> None:
    """Create the API role when missing, grant it SELECT on the published tables, set `password`.

    Refuses a role with more powers than reading (e.g. CAMDENSITY_API_ROLE naming a superuser).
    """
    role = settings.api_role
    if conn.execute("SELECT current_user").fetchone() == (role,):
        return  # already connected as the API role: it cannot grant itself anything
    database = conn.execute("SELECT current_database()").fetchone()[0]
    text = pgsql.SQL(sql.query("api_role_grant")).format(  # type: ignore[arg-type]
        role=pgsql.Identifier(role), database=pgsql.Identifier(database)
    )
    with conn.transaction():
        conn.execute(text)
        if password is not None:
            _set_password(conn, role, password)
    _refuse_powers(conn, role, "CAMDENSITY_API_ROLE", "API", "it must only read")


def prepare_api(owner_url: str, settings: DatabaseSettings) -> str:
    """Set up the API role as the owner (unless its URL is given) and return the API's URL."""
    url, password = api_credentials(owner_url, settings)
    if settings.api_database_url:
        return url
    with psycopg.connect(owner_url, connect_timeout=settings.connect_timeout_s) as conn:
        grant_api_role(conn, settings, password)
    return url


def grant_report_roles(conn: psycopg.Connection, settings: DatabaseSettings,
                       passwords: dict[str, str | None] | None = None) -> None:
    """Create the reporter and moderator roles when missing and give them their narrow grants
    (sql/queries/report_role_grant.sql); set the passwords given (role -> password)."""
    reporter, moderator = settings.reporter_role, settings.moderator_role
    if conn.execute("SELECT current_user").fetchone()[0] in (  # type: ignore[index]
            reporter, moderator, settings.api_role):
        return  # connected as one of them: it cannot grant anything
    database = conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    text = pgsql.SQL(sql.query("report_role_grant")).format(  # type: ignore[arg-type]
        reporter=pgsql.Identifier(reporter), moderator=pgsql.Identifier(moderator),
        database=pgsql.Identifier(database),
    )
    with conn.transaction():
        conn.execute(text)
        for role, password in (passwords or {}).items():
            if password is not None:
                _set_password(conn, role, password)
    _refuse_powers(conn, reporter, "CAMDENSITY_REPORTER_ROLE", "reporter")
    _refuse_powers(conn, moderator, "CAMDENSITY_MODERATOR_ROLE", "moderator")


def prepare_reports(owner_url: str, settings: DatabaseSettings) -> tuple[str, str]:
    """Set up the reporter and moderator roles as the owner; return their URLs (reporter,
    moderator)."""
    reporter = role_credentials(owner_url, settings.reporter_role, settings.reporter_database_url)
    moderator = role_credentials(owner_url, settings.moderator_role,
                                 settings.moderator_database_url)
    if not (settings.reporter_database_url and settings.moderator_database_url):
        with psycopg.connect(owner_url, connect_timeout=settings.connect_timeout_s) as conn:
            grant_report_roles(conn, settings, {settings.reporter_role: reporter[1],
                                                settings.moderator_role: moderator[1]})
    return reporter[0], moderator[0]
