"""The built wheel in a fresh venv, run from an unrelated folder: one package, the demo, serve.

The venv gets the project's dependencies through a path (.pth) line naming the test venv's
site-packages (no download, a few seconds); the test venv's own editable camdensity is not
visible there, since a path line does not run that directory's .pth files. So everything below
runs the installed wheel's code, which the first test checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import psycopg
import pytest
from conftest import ROOT
from prometheus_client.parser import text_string_to_metric_families

from camdensity import __version__, testing

# The distribution's sources: pyproject's metadata, the README, every folder package-dir maps.
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FOLDERS = ("camdensity", *PYPROJECT["tool"]["setuptools"]["package-dir"].values())
SOURCES = ("pyproject.toml", "README.md", *FOLDERS)


@dataclass(frozen=True)
class Installed:
    """The wheel and the venv it is installed in."""

    wheel: Path
    venv: Path
    site: Path
    elsewhere: Path  # an unrelated working directory

    def command(self, *args: str) -> list[str]:
        return [str(self.venv / "bin" / "camdensity"), *args]

    def env(self, url: str) -> dict[str, str]:
        """This process's environment with the scratch store and a home that must stay unused."""
        # One resolution (the baseline's) halves the demo's build; every resolution's build is
        # checked in-process by test_build.py, this test is about the installed distribution.
        return {**os.environ, "DATABASE_URL": url, "CAMDENSITY_RESOLUTIONS": "[9]",
                "CAMDENSITY_HOME": str(self.elsewhere / "unused-home")}

    def run(self, url: str, *args: str, python: bool = False) -> subprocess.CompletedProcess[str]:
        """`camdensity ARGS` (or `python -m camdensity ARGS`) from the unrelated folder."""
        command = ([str(self.venv / "bin" / "python"), "-m", "camdensity", *args] if python
                   else self.command(*args))
        return subprocess.run(command, cwd=self.elsewhere, env=self.env(url), capture_output=True,
                              text=True, timeout=600, check=False)


def _check(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the wheel from a copy of the sources and install it into a new venv."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"),
                    str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp / "dist").glob("camdensity-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, timeout=300)
    (site / "_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return Installed(wheel, venv, site, elsewhere)


def test_the_dockerfile_copies_every_source_folder() -> None:
    copied = {line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines()
              if line.startswith("COPY ")}
    assert set(FOLDERS) <= copied


def test_the_wheel_installs_one_top_level_package(installed: Installed, database_url: str) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert {n.split("/", 1)[0] for n in names} == {"camdensity", f"camdensity-{__version__}.dist-info"}
    # Every file of every mapped folder is in the wheel: code, SQL, templates, demo data.
    mapped = {"camdensity": "camdensity",
              **{folder: package.replace(".", "/") for package, folder
                 in PYPROJECT["tool"]["setuptools"]["package-dir"].items()}}
    expected = {f"{mapped[folder]}/{path.relative_to(ROOT / folder).as_posix()}"
                for folder in FOLDERS for path in (ROOT / folder).rglob("*")
                if path.is_file() and "__pycache__" not in path.parts}
    assert "camdensity/data/helsinki/helsinki_center.osm.pbf" in expected
    assert expected <= set(names), sorted(expected - set(names))
    installed_names = {p.name for p in installed.site.iterdir()} - {"_test_dependencies.pth"}
    assert installed_names == {"camdensity", f"camdensity-{__version__}.dist-info"}

    # Every part imports from the new venv, not from the checkout.
    probe = installed.run(database_url, "--version", python=True)
    assert _check(probe) == f"camdensity {__version__}\n"
    modules = ("camdensity.ingest", "camdensity.service.main", "camdensity.tiles",
               "camdensity.sql", "camdensity.data")
    script = f"import importlib; print(*(importlib.import_module(m).__file__ for m in {modules}))"
    where = subprocess.run([str(installed.venv / "bin" / "python"), "-c", script],
                           cwd=installed.elsewhere, capture_output=True, text=True,
                           check=True).stdout.split()
    assert len(where) == 5 and all(Path(f).is_relative_to(installed.site) for f in where)


def test_installed_demo_then_serve_from_another_folder(installed: Installed, empty_db: str) -> None:
    result = installed.run(empty_db, "demo", "--no-serve")
    first = _check(result)
    assert "cameras from 'osm-helsinki': 221 accepted" in first
    assert "cameras from 'osm-us-west-2026-01': 18078 accepted" in first
    assert "sites from 'ice-facilities-uwchr': 294 accepted, 10 rejected" in first
    assert "rejected line 1484: invalid latitude 'NA'" in result.stderr
    stats = json.loads(_check(installed.run(empty_db, "stats", "--json")))
    version = stats["data_version"]
    assert version is not None
    assert {(s["entity"], s["name"]) for s in stats["sources"]} == {
        ("cameras", "osm-helsinki"), ("sites", "osm-helsinki"), ("addresses", "osm-helsinki"),
        ("cameras", "osm-us-west-2026-01"), ("sites", "ice-facilities-uwchr")}
    assert stats["cameras"] == 221 + 18_078  # the two regions are thousands of km apart
    assert stats["sites"]["immigration"] == 294 and stats["addresses"] == 1_470
    assert set(stats["hexagons"]) == {"9"}
    for resolution, cells in stats["hexagons"].items():
        assert cells["cameras"] + stats["withheld"][resolution] == stats["cameras"]

    # Again: every file is known, the build is current; nothing is redone.
    second = _check(installed.run(empty_db, "demo", "--no-serve"))
    assert second.count("file unchanged since its last import") == 5
    assert "build is up to date" in second
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT count(*) FROM build").fetchone()[0] == 1

    # `camdensity serve` of the installed wheel answers, its metrics on their own port.
    port, metrics_port = testing.free_port(), testing.free_port()
    env = {**installed.env(empty_db), "CAMDENSITY_METRICS_PORT": str(metrics_port)}
    with testing.serving(installed.command("serve", "--port", str(port)), port, env,
                         installed.elsewhere) as base:
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "version": __version__}
        ready = httpx.get(f"{base}/readyz").json()
        assert ready["status"] == "ready" and ready["data_version"] == version
        assert httpx.get(f"{base}/metrics").status_code == 404  # not on the public port
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["camdensity_data_version_info"].samples[0].labels["data_version"] == version
    assert ("GET", "/healthz", "200") in {
        (s.labels["method"], s.labels["route"], s.labels["status"])
        for s in families["camdensity_http_requests"].samples if s.name.endswith("_total")}
    # An embedded cluster was never needed: DATABASE_URL was set, so no home was created.
    assert not (installed.elsewhere / "unused-home").exists()
    assert sorted(p.name for p in installed.elsewhere.iterdir()) == []


def test_installed_errors_are_one_line_on_stderr(installed: Installed, database_url: str) -> None:
    result = installed.run(database_url, "ingest", "cameras", "no-such-file.csv")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == "error: no such file: no-such-file.csv\n"
    result = installed.run("postgresql://nobody@127.0.0.1:1/none", "stats")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: cannot reach the store (DATABASE_URL): ")
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1
