"""The embedded PostGIS cluster: a project-local data directory, its own port and socket."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
from psycopg import sql

from camdensity.settings import DatabaseSettings

POSTGIS_CONTROL = "postgis.control"


class ClusterError(RuntimeError):
    """The embedded cluster could not be set up or started."""


def pg_bindir() -> Path:
    """Directory holding initdb/pg_ctl (Debian keeps them out of PATH)."""
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], check=False, capture_output=True, text=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    for version in ("17", "16", "15"):
        candidate = Path(f"/usr/lib/postgresql/{version}/bin")
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise ClusterError("PostgreSQL server binaries (initdb, pg_ctl) not found; run `make setup`.")


def postgis_available(bindir: Path) -> bool:
    """Whether the PostGIS extension is installed for this server."""
    out = subprocess.run([str(bindir / "pg_config"), "--sharedir"], check=False, capture_output=True, text=True)
    sharedir = Path(out.stdout.strip() or "/usr/share/postgresql/15")
    return (sharedir / "extension" / POSTGIS_CONTROL).exists()


def os_user() -> str:
    """Name of the OS user running camdensity (the one peer authentication lets in)."""
    return pwd.getpwuid(os.geteuid()).pw_name


def _as_owner(cmd: list[str]) -> list[str]:
    """initdb/pg_ctl refuse to run as root: run them as `postgres` then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class Cluster:
    """A PostgreSQL cluster that belongs to this project checkout."""

    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        self.root = settings.pg_dir
        self.data = self.root / "data"
        self.run = settings.socket_dir
        self.log = self.root / "postgres.log"
        self.port = settings.pg_port

    def _chown(self, *paths: Path) -> None:
        if os.geteuid() != 0:
            return
        pw = pwd.getpwnam("postgres")
        for path in paths:
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def access_files(self) -> dict[str, str]:
        """pg_hba.conf and pg_ident.conf: the socket only, peer authentication, and only the OS
        user running camdensity, as the bootstrapping superuser, the owner or the API role (no
        `trust`, no other local user)."""
        user = os_user()
        hba = (
            "# camdensity (written by camdensity/cluster.py): socket only, in a 0700 directory;\n"
            "# peer authentication maps the OS user running camdensity to the project's roles.\n"
            "local all all peer map=camdensity\n"
        )
        ident = "".join(
            f"camdensity {user} {role}\n"
            for role in dict.fromkeys((self.settings.pg_user, self.settings.owner_role,
                                       self.settings.api_role, self.settings.reporter_role,
                                       self.settings.moderator_role))
        )
        return {"pg_hba.conf": hba, "pg_ident.conf": ident}

    def _secure(self) -> bool:
        """Write the access files and tighten modes (existing clusters too); True when changed."""
        changed = False
        for name, text in self.access_files().items():
            path = self.data / name
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                changed = True
            path.chmod(0o600)
            self._chown(path)
        # Only the cluster's OS user may reach the socket; the log is its alone too.
        self.run.chmod(0o700)
        self.log.touch(exist_ok=True)
        self.log.chmod(0o600)
        self._chown(self.run, self.log)
        return changed

    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def running(self) -> bool:
        if not self.initialized():
            return False
        res = subprocess.run(
            _as_owner([str(pg_bindir() / "pg_ctl"), "status", "-D", str(self.data)]),
            check=False, capture_output=True, text=True,
        )
        return res.returncode == 0

    def init(self) -> None:
        bindir = pg_bindir()
        if not postgis_available(bindir):
            raise ClusterError("PostGIS is not installed for this server; run `make setup`.")
        self.root.mkdir(parents=True, exist_ok=True)
        self.run.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._chown(self.root, self.run)
        if self.initialized():
            return
        self.data.mkdir(mode=0o700, exist_ok=True)
        self._chown(self.data)
        res = subprocess.run(
            _as_owner([
                str(bindir / "initdb"), "-D", str(self.data), "-U", self.settings.pg_user,
                "--auth=peer", "--encoding=UTF8", "--locale=C.UTF-8",
            ]),
            check=False, capture_output=True, text=True,
        )
        if res.returncode != 0:
            raise ClusterError(f"initdb failed:\n{res.stdout}\n{res.stderr}")

    def start(self) -> None:
        """Initialise if needed, start if stopped, create the database; idempotent."""
        self.init()
        changed = self._secure()
        if changed and self.running():
            self._reload()
        if not self.running():
            opts = (
                # Reached only through its own socket directory: no TCP listener, so checkouts
                # side by side (a developer's and CI's fresh clone) never fight over a port.
                f"-p {self.port} -k {self.run} -c listen_addresses='' "
                "-c shared_buffers=256MB -c work_mem=64MB -c maintenance_work_mem=256MB "
                "-c max_connections=200 -c fsync=off -c synchronous_commit=off "
                "-c log_min_messages=warning -c log_statement=none"
            )
            # The log lives beside the data (0600); the server never logs statements (privacy).
            res = subprocess.run(
                _as_owner([
                    str(pg_bindir() / "pg_ctl"), "start", "-D", str(self.data), "-w",
                    "-t", "60", "-l", str(self.log), "-o", opts,
                ]),
                check=False, capture_output=True, text=True,
            )
            if res.returncode != 0:
                tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                raise ClusterError(f"pg_ctl start failed:\n{res.stdout}\n{res.stderr}\n{tail}")
        self._wait_ready()
        self._ensure_database()

    def _reload(self, timeout: float = 10.0) -> None:
        """Reload the access files and wait until new sessions are checked against them (the
        server reloads after pg_ctl returns: a role just mapped could be refused meanwhile)."""
        loaded = "SELECT pg_conf_load_time()"
        with psycopg.connect(self.admin_url()) as conn:
            before = conn.execute(loaded).fetchone()[0]
        subprocess.run(
            _as_owner([str(pg_bindir() / "pg_ctl"), "reload", "-D", str(self.data)]),
            check=True, capture_output=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with psycopg.connect(self.admin_url()) as conn:
                if conn.execute(loaded).fetchone()[0] > before:
                    return
            time.sleep(0.05)

    def stop(self) -> None:
        if self.running():
            subprocess.run(
                _as_owner([str(pg_bindir() / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast"]),
                check=True, capture_output=True,
            )

    def admin_url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.settings.pg_user}@/{dbname}?host={self.run}&port={self.port}"

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.admin_url(), connect_timeout=3):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _ensure_database(self) -> None:
        name = self.settings.pg_database
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
