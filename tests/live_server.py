"""A real uvicorn serving the app from a database, on a free localhost port (for tests that
need a browser, a fuzzer or a stopped PostgreSQL)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def uvicorn_server(database_url: str, ready: str = "/readyz", **env: str) -> Iterator[str]:
    """`http://127.0.0.1:PORT` of a uvicorn serving the app from `database_url` once `ready`
    answers 200; `env` adds environment variables (CAMDENSITY_* settings)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "camdensity.service.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url, **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"{base}{ready}", timeout=1):
                    break
            except (OSError, urllib.error.HTTPError):
                if proc.poll() is not None:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"uvicorn exited: {out}")
                time.sleep(0.2)
        else:
            pytest.fail(f"uvicorn did not answer {ready}")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
