"""Throwaway databases for the test suite and the benchmarks, on the store's own server, and a
range-capable static file server (a static host stand-in for published bundles)."""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import psycopg
from psycopg import sql

from camdensity import db
from camdensity import settings as settings_mod
from camdensity.cluster import Cluster


def clear_settings() -> None:
    """Forget the cached settings, so the next read sees the environment as it is now."""
    for fn in (settings_mod.database_settings, settings_mod.method_settings,
               settings_mod.service_settings, settings_mod.evidence_settings,
               settings_mod.log_settings, settings_mod.ingest_settings,
               settings_mod.report_settings):
        fn.cache_clear()


def admin_url() -> str:
    """A URL with rights to create databases: DATABASE_URL's server, else the embedded one."""
    settings = settings_mod.DatabaseSettings()
    if settings.embedded:
        cluster = Cluster(settings)
        cluster.start()
        return cluster.admin_url()
    return settings.url


def with_dbname(url: str, name: str) -> str:
    """`url` naming database `name` instead."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


def create_database(admin: str, prefix: str = "camdensity_test") -> str:
    """A new database with the schema applied as the product applies it (bootstrapped by the
    superuser, migrated by the owner); returns its URL as `admin`'s user, for fixtures."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_dbname(admin, name)
    db.migrated_owner_url(url)
    return url


def drop_database(admin: str, url: str) -> None:
    """Drop the database `url` names, closing its sessions."""
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def pointed_at(url: str) -> Iterator[str]:
    """Every command and setting read inside uses `url` as DATABASE_URL; restored afterwards."""
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    clear_settings()
    try:
        yield url
    finally:
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old
        clear_settings()


@contextmanager
def scratch_database(admin: str, prefix: str = "camdensity_test") -> Iterator[str]:
    """A migrated database that DATABASE_URL points at while inside; dropped afterwards."""
    url = create_database(admin, prefix)
    try:
        with pointed_at(url):
            yield url
    finally:
        drop_database(admin, url)


@contextmanager
def password_cluster(root: Path, password: str, user: str = "admin",
                     port: int = 55433) -> Iterator[str]:
    """A throwaway cluster in `root` that asks every role for its password (scram-sha-256 on its
    socket, no TCP), as docker-compose's PostGIS or a server elsewhere does; yields its
    superuser's URL, with the password, to its database `camdensity`. Stopped and removed after."""
    from camdensity.cluster import _as_owner, pg_bindir

    bindir, data, run = pg_bindir(), root / "data", root / "run"
    run.mkdir(parents=True)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:  # initdb and the server run as `postgres`, which must reach them
        for path in (root, run, pwfile):
            shutil.chown(path, "postgres", "postgres")
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data)]
    subprocess.run(_as_owner([str(bindir / "initdb"), "-D", str(data), "-U", user,
                              "--auth=scram-sha-256", f"--pwfile={pwfile}", "--encoding=UTF8",
                              "--locale=C.UTF-8"]), check=True, capture_output=True)
    subprocess.run(_as_owner([*pg_ctl, "start", "-w", "-t", "60", "-l", str(root / "log"), "-o",
                              f"-p {port} -k {run} -c listen_addresses='' -c fsync=off"]),
                   check=True, capture_output=True)
    try:
        admin = f"postgresql://{user}:{password}@/postgres?host={run}&port={port}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE camdensity")
        yield with_dbname(admin, "camdensity")
    finally:
        subprocess.run(_as_owner([*pg_ctl, "stop", "-m", "immediate"]), check=False,
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(command: list[str], port: int, env: Mapping[str, str], cwd: Path,
            timeout_s: float = 60.0) -> Iterator[str]:
    """Run a server `command` listening on `port`; yield its base URL once /healthz answers."""
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                    raise RuntimeError(f"{command[0]} did not answer /healthz:\n{output}") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()



@contextmanager
def serving_app(database_url: str, **env: str) -> Iterator[str]:
    """uvicorn serving the app from `database_url` on a free port (`env`: more settings)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "camdensity.service.main:app", "--host",
               "127.0.0.1", "--port", str(port), "--no-access-log"]
    environ = {**os.environ, "DATABASE_URL": database_url, **env}
    with serving(command, port, environ, Path.cwd()) as base:
        yield base


class RangeRequestHandler(SimpleHTTPRequestHandler):
    """A plain static file server that answers `Range: bytes=a-b` with 206, as static hosts and
    CDNs do (Python's own handler ignores Range); extra response headers from `extra_headers`."""

    extra_headers: ClassVar[dict[str, str]] = {}
    protocol_version = "HTTP/1.1"  # keep-alive: browsers reuse the connection for ranges

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests and benchmarks read their own figures."""

    def end_headers(self) -> None:
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def send_head(self) -> BinaryIO | None:  # type: ignore[override]
        """Serve the file, or only the byte range asked for (206), or 416 for a bad range."""
        spec = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not spec or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", spec.strip())
        if not match or match.group(1) == match.group(2) == "":
            self.send_error(416, "unsupported Range")
            return None
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        else:
            start, end = max(0, size - int(match.group(2))), size - 1
        if start > end or start >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        fh = path.open("rb")
        fh.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return _Limited(fh, end - start + 1)  # type: ignore[return-value]


class _Limited(io.RawIOBase):
    """A file read only up to `left` bytes (copyfile then stops at the range's end)."""

    def __init__(self, fh: BinaryIO, left: int) -> None:
        self.fh, self.left = fh, left

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        data = self.fh.read(n)
        buffer[: len(data)] = data
        self.left -= len(data)
        return len(data)

    def close(self) -> None:
        self.fh.close()
        super().close()


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-answer (a load generator stopping, a browser aborting a range)
    are normal for a static host: not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys as _sys

        if not isinstance(_sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def static_server(root: Path, headers: dict[str, str] | None = None) -> Iterator[str]:
    """Serve `root` with RangeRequestHandler on a free localhost port; yields its base URL."""
    handler = type("Handler", (RangeRequestHandler,), {"extra_headers": dict(headers or {})})
    server = _QuietServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
