"""Least privilege: the project's roles and their credentials. A superuser only bootstraps (untrusted
extensions, the roles, ownership); the owner migrates, imports, builds and grants; the API reads.

A new project role (e.g. one that may only queue reports) follows the API role's pattern: a
`role_<name>_create.sql` run by `bootstrap`, a `<name>_role_grant.sql` run as the owner after
migrations, credentials derived with `derived_url`, and a line in the embedded cluster's
pg_ident.conf (camdensity.cluster). The report roles (issue 11) do: the reporter may only queue
a report and withdraw one by receipt, the moderator decides (role_report_create.sql,
report_role_grant.sql).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

import psycopg
from psycopg import sql as pgsql

from camdensity import sql
from camdensity.settings import DatabaseSettings

# Attributes that would make a project role more than it is (pg_roles columns).
POWERS = ("rolsuper", "rolcreaterole", "rolcreatedb", "rolreplication", "rolbypassrls")
# Predefined roles that reach the server's programs and files: the owner is a member of none.
SERVER_ROLES = ("pg_execute_server_program", "pg_read_server_files", "pg_write_server_files")
# Serialises concurrent bootstraps of one database (two replicas starting at once).
BOOTSTRAP_LOCK = 7_263_002
_CREATE_EXTENSION = re.compile(r"^\s*CREATE EXTENSION IF NOT EXISTS (\w+)",
                               re.IGNORECASE | re.MULTILINE)
_SCRAM = re.compile(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)")


class RoleError(RuntimeError):
    """A role cannot be set up safely (the message says what to do)."""


def derive_password(secret: str, role: str, kind: str = "api") -> str:
    """A project role's password: an HMAC of the one it derives from (the owner's from the
    superuser's, the API role's from the owner's), so every replica derives the same one."""
    digest = hmac.new(secret.encode(), f"camdensity {kind} role {role}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def derived_url(url: str, role: str, kind: str) -> tuple[str, str | None]:
    """(`url` with `role` as its user, the password derived from `url`'s, or None when `url` has
    none: peer authentication, as in the embedded cluster)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    secret = info.pop("password", None)
    info["user"] = role
    password = derive_password(str(secret), role, kind) if secret else None
    if password is not None:
        info["password"] = password
    return psycopg.conninfo.make_conninfo(**info), password


def api_credentials(owner_url: str, settings: DatabaseSettings) -> tuple[str, str | None]:
    """(the URL the API connects with, the password to give the role, or None to leave it).

    CAMDENSITY_API_DATABASE_URL when set; else the owner's URL with the API role as user and a
    password derived from the owner's (none when the owner's URL has none: peer authentication).
    """
    if settings.api_database_url:
        return settings.api_database_url, None
    return derived_url(owner_url, settings.api_role, "api")


def owner_credentials(admin_url: str, settings: DatabaseSettings) -> tuple[str, str | None]:
    """(the owner's URL, its password) derived from a superuser's URL, as the API role's are."""
    return derived_url(admin_url, settings.owner_role, "owner")


def _query(name: str, **parts: pgsql.Composable) -> pgsql.Composed:
    """sql/queries/<name>.sql with its {identifiers} and {literals} composed in."""
    return pgsql.SQL(sql.query(name)).format(**parts)  # type: ignore[arg-type]


def _one(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    row = conn.execute(query, params or None).fetchone()
    return row[0] if row else None


def is_superuser(conn: psycopg.Connection) -> bool:
    return bool(_one(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))


def may_create_roles(conn: psycopg.Connection) -> bool:
    return bool(_one(conn, "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"))


def required_extensions() -> list[str]:
    """The extensions the migrations create, in the order they create them."""
    names: list[str] = []
    for _version, _name, text in sql.migrations():
        names += [n for n in _CREATE_EXTENSION.findall(text) if n not in names]
    return names


def superuser_extensions(conn: psycopg.Connection) -> list[str]:
    """The migrations' extensions only a superuser may create (untrusted, e.g. postgis, or not
    installed on the server); the trusted ones (pg_trgm...) the owner creates itself."""
    names = required_extensions()
    trusted = {r[0] for r in conn.execute(
        "SELECT name FROM pg_available_extension_versions WHERE name = ANY(%s) "
        "GROUP BY name HAVING bool_or(trusted)", (names,))}
    return [n for n in names if n not in trusted]


def require_extensions(conn: psycopg.Connection) -> None:
    """As an owner with no superuser to bootstrap: RoleError when a superuser-only extension is
    missing, or its tables cannot be read (and reading passed on to the API role)."""
    if is_superuser(conn):
        return  # the migrations create them
    user, database = conn.execute("SELECT current_user, current_database()").fetchone()
    present = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
    missing = [n for n in superuser_extensions(conn) if n not in present]
    if missing:
        raise RoleError(
            f"extension {missing[0]} is missing and {user} is not a superuser: a DBA must run "
            f"`CREATE EXTENSION {missing[0]};` in database {database}"
            + (f" (then {', '.join(missing[1:])})" if missing[1:] else "")
        )
    unreadable = ", ".join(r[0] for r in conn.execute(sql.query("role_extension_tables")))
    if unreadable:
        raise RoleError(
            f"{user} cannot read extension tables {unreadable}: a DBA must run `GRANT SELECT ON "
            f"{unreadable} TO {user} WITH GRANT OPTION;` in database {database}"
        )


def scram_matches(verifier: str | None, password: str) -> bool:
    """Whether a stored SCRAM-SHA-256 verifier (pg_authid.rolpassword) is `password`'s."""
    m = _SCRAM.fullmatch(verifier or "")
    if not m:
        return False
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(m[2]), int(m[1]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), base64.b64decode(m[3]))


def set_password(conn: psycopg.Connection, role: str, password: str | None) -> None:
    """Give `role` `password`, unless it has it already (read back where a superuser may)."""
    if password is None:
        return
    if is_superuser(conn) and scram_matches(
            _one(conn, "SELECT rolpassword FROM pg_authid WHERE rolname = %s", role), password):
        return
    # The server is sent a SCRAM verifier, never the password itself.
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
    conn.execute(pgsql.SQL("ALTER ROLE {} PASSWORD {}").format(
        pgsql.Identifier(role), pgsql.Literal(verifier.decode())))


def refuse_powers(conn: psycopg.Connection, role: str, what: str, must: str, setting: str) -> None:
    """RoleError when `role` has a power in POWERS, or belongs to a superuser or SERVER_ROLES."""
    row = conn.execute(
        pgsql.SQL("SELECT {} FROM pg_roles WHERE rolname = %s").format(
            pgsql.SQL(", ").join(pgsql.Identifier(p) for p in POWERS)),
        (role,),
    ).fetchone()
    powers = [p for p, on in zip(POWERS, row or (), strict=False) if on]
    if not powers:  # (a superuser is a member of every role: asked only of the others)
        powers = [r[0] for r in conn.execute(
            "SELECT 'member of ' || r.rolname FROM pg_roles r WHERE r.rolname <> %s "
            "AND (r.rolsuper OR r.rolname = ANY(%s)) AND pg_has_role(%s, r.oid, 'MEMBER') "
            "ORDER BY 1", (role, list(SERVER_ROLES), role))]
    if powers:
        raise RoleError(
            f"the {what} role {role!r} has {', '.join(powers)}: it must {must}; set {setting} to "
            "a role of its own"
        )


def create_api_role(conn: psycopg.Connection, settings: DatabaseSettings) -> None:
    """Create the API role when missing (as a superuser or an owner that may create roles)."""
    role = settings.api_role
    if _one(conn, "SELECT 1 FROM pg_roles WHERE rolname = %s", role):
        return
    if not may_create_roles(conn):
        raise RoleError(
            f"the API role {role!r} does not exist and {_one(conn, 'SELECT current_user')} may "
            f"not create roles: a DBA must run `CREATE ROLE {role} LOGIN NOINHERIT;`, or set "
            "CAMDENSITY_API_DATABASE_URL"
        )
    conn.execute(_query("role_api_create", role=pgsql.Identifier(role)))


def report_credentials(owner_url: str, settings: DatabaseSettings) -> dict[str, tuple[str, str | None]]:
    """Role -> (URL, password to give it, or None) of the reporter and moderator roles:
    CAMDENSITY_REPORTER_DATABASE_URL / CAMDENSITY_MODERATOR_DATABASE_URL when given, else the
    owner's URL with the role as user and a password derived from the owner's."""
    out = {}
    for role, given, kind in ((settings.reporter_role, settings.reporter_database_url, "reporter"),
                              (settings.moderator_role, settings.moderator_database_url,
                               "moderator")):
        out[role] = (given, None) if given else derived_url(owner_url, role, kind)
    return out


def create_report_roles(conn: psycopg.Connection, settings: DatabaseSettings) -> None:
    """Create the reporter and moderator roles when missing and not given by URL (as a superuser
    or an owner that may create roles)."""
    for role, given, setting in (
            (settings.reporter_role, settings.reporter_database_url,
             "CAMDENSITY_REPORTER_DATABASE_URL"),
            (settings.moderator_role, settings.moderator_database_url,
             "CAMDENSITY_MODERATOR_DATABASE_URL")):
        if given or _one(conn, "SELECT 1 FROM pg_roles WHERE rolname = %s", role):
            continue
        if not may_create_roles(conn):
            raise RoleError(
                f"the report role {role!r} does not exist and {_one(conn, 'SELECT current_user')} "
                f"may not create roles: a DBA must run `CREATE ROLE {role} LOGIN NOINHERIT;`, or "
                f"set {setting}"
            )
        conn.execute(_query("role_report_create", role=pgsql.Identifier(role)))


def bootstrap(conn: psycopg.Connection, settings: DatabaseSettings, owner_password: str | None,
              api_password: str | None,
              report_passwords: dict[str, str | None] | None = None) -> None:
    """As a superuser: the untrusted extensions, the owner and API roles with their passwords,
    and the owner's ownership of the database, schema public and the project's objects.

    Idempotent and cheap, run at every start: catalogs are written only where something differs.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (BOOTSTRAP_LOCK,))
        for name in superuser_extensions(conn):
            conn.execute(pgsql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(pgsql.Identifier(name)))
        conn.execute(_query("role_owner_create", role=pgsql.Identifier(settings.owner_role)))
        refuse_powers(conn, settings.owner_role, "owner",
                      "not be a superuser, create roles or databases, or run programs",
                      "CAMDENSITY_OWNER_ROLE")
        conn.execute(_query("role_takeover", owner=pgsql.Literal(settings.owner_role)))
        set_password(conn, settings.owner_role, owner_password)
        if not settings.api_database_url:
            create_api_role(conn, settings)
            set_password(conn, settings.api_role, api_password)
        create_report_roles(conn, settings)
        for role, password in (report_passwords or {}).items():
            set_password(conn, role, password)


def prepare_owner(url: str, settings: DatabaseSettings) -> str:
    """The URL migrations, imports and builds connect with: the owner's, never a superuser's.

    CAMDENSITY_OWNER_DATABASE_URL when set (nothing is bootstrapped: a DBA made the role and the
    untrusted extensions); `url` itself when its user is no superuser (a managed database: it is
    the owner); else the owner's derived URL, after `url`'s superuser has bootstrapped.
    """
    given = settings.owner_database_url
    with psycopg.connect(given or url, connect_timeout=settings.connect_timeout_s) as conn:
        if given or not is_superuser(conn):
            require_extensions(conn)
            return given or url
        owner, owner_password = owner_credentials(url, settings)
        bootstrap(conn, settings, owner_password, api_credentials(owner, settings)[1],
                  {role: password for role, (_url, password)
                   in report_credentials(owner, settings).items()})
    return owner


def grant_api_role(conn: psycopg.Connection, settings: DatabaseSettings,
                   password: str | None = None) -> None:
    """As the owner: grant the API role SELECT on the published tables (creating the role, and
    setting `password`, where the owner may manage roles: a managed database's owner).

    Refuses a role with more powers than reading (e.g. CAMDENSITY_API_ROLE naming a superuser).
    """
    role = settings.api_role
    if conn.execute("SELECT current_user").fetchone() == (role,):
        return  # already connected as the API role: it cannot grant itself anything
    database = conn.execute("SELECT current_database()").fetchone()[0]
    with conn.transaction():
        create_api_role(conn, settings)
        conn.execute(_query("api_role_grant", role=pgsql.Identifier(role),
                            database=pgsql.Identifier(database)))
        if may_create_roles(conn):
            set_password(conn, role, password)
    refuse_powers(conn, role, "API", "only read", "CAMDENSITY_API_ROLE")


def prepare_api(owner_url: str, settings: DatabaseSettings) -> str:
    """Grant the API role its rights as the owner (unless its URL is given); the API's URL."""
    url, password = api_credentials(owner_url, settings)
    if settings.api_database_url:
        return url
    with psycopg.connect(owner_url, connect_timeout=settings.connect_timeout_s) as conn:
        grant_api_role(conn, settings, password)
    return url


def grant_report_roles(conn: psycopg.Connection, settings: DatabaseSettings,
                       passwords: dict[str, str | None] | None = None) -> None:
    """As the owner: give the reporter and moderator roles their narrow grants
    (report_role_grant.sql), creating them and setting `passwords` where the owner may manage
    roles (a managed database's owner). Refuses a report role with powers."""
    reporter, moderator = settings.reporter_role, settings.moderator_role
    if _one(conn, "SELECT current_user") in (reporter, moderator, settings.api_role):
        return  # connected as one of them: it cannot grant anything
    database = _one(conn, "SELECT current_database()")
    with conn.transaction():
        create_report_roles(conn, settings)
        conn.execute(_query("report_role_grant", reporter=pgsql.Identifier(reporter),
                            reporter_name=pgsql.Literal(reporter),
                            moderator=pgsql.Identifier(moderator),
                            database=pgsql.Identifier(database)))
        if may_create_roles(conn):
            for role, password in (passwords or {}).items():
                set_password(conn, role, password)
    for role, what, setting in ((reporter, "reporter", "CAMDENSITY_REPORTER_ROLE"),
                                (moderator, "moderator", "CAMDENSITY_MODERATOR_ROLE")):
        refuse_powers(conn, role, what, "only do its own job", setting)


def prepare_reports(owner_url: str, settings: DatabaseSettings) -> tuple[str, str]:
    """Grant the report roles their rights as the owner; their URLs (reporter, moderator)."""
    creds = report_credentials(owner_url, settings)
    if settings.reporter_database_url and settings.moderator_database_url:
        # Given (a DBA's roles, or `serve --workers` granted once before starting its workers).
        return settings.reporter_database_url, settings.moderator_database_url
    with psycopg.connect(owner_url, connect_timeout=settings.connect_timeout_s) as conn:
        grant_report_roles(conn, settings, {role: password for role, (_url, password)
                                            in creds.items()})
    return creds[settings.reporter_role][0], creds[settings.moderator_role][0]
