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
    if settings.api_database_url:
        return settings.api_database_url, None
    info = psycopg.conninfo.conninfo_to_dict(owner_url)
    owner_password = info.pop("password", None)
    info["user"] = settings.api_role
    password = derive_password(str(owner_password), settings.api_role) if owner_password else None
    if password is not None:
        info["password"] = password
    return psycopg.conninfo.make_conninfo(**info), password


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
            # The server is sent a SCRAM verifier, never the password itself.
            verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
            conn.execute(pgsql.SQL("ALTER ROLE {} PASSWORD {}").format(
                pgsql.Identifier(role), pgsql.Literal(verifier.decode())))
    row = conn.execute(
        pgsql.SQL("SELECT {} FROM pg_roles WHERE rolname = %s").format(
            pgsql.SQL(", ").join(pgsql.Identifier(p) for p in POWERS)),
        (role,),
    ).fetchone()
    powers = [p for p, on in zip(POWERS, row or (), strict=False) if on]
    if powers:
        raise RoleError(
            f"the API role {role!r} has {', '.join(powers)}: it must only read; set "
            "CAMDENSITY_API_ROLE to a role of its own"
        )


def prepare_api(owner_url: str, settings: DatabaseSettings) -> str:
    """Set up the API role as the owner (unless its URL is given) and return the API's URL."""
    url, password = api_credentials(owner_url, settings)
    if settings.api_database_url:
        return url
    with psycopg.connect(owner_url, connect_timeout=settings.connect_timeout_s) as conn:
        grant_api_role(conn, settings, password)
    return url
