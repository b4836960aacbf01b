"""The command line's contract: version, documented exit codes, errors as one line on stderr."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from camdensity import __version__
from camdensity.cli import app


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), prog_name="camdensity")
    return result.exit_code, result.stdout, result.stderr


def test_version_and_exit_codes_in_help() -> None:
    assert _invoke("--version") == (0, f"camdensity {__version__}\n", "")
    code, out, _ = _invoke("--help")
    assert code == 0
    assert ("Exit codes: 0 done; 1 failed (one line on stderr says why; `db status`: the cluster "
            "is not running); 2 wrong usage") in " ".join(out.replace("│", " ").split())


def test_db_url_is_one_line(database_url: str) -> None:
    assert _invoke("db", "url") == (0, database_url + "\n", "")


@pytest.mark.parametrize(("args", "message"), [
    (("ingest", "cameras", "no-such-file.csv"), "error: no such file: no-such-file.csv"),
    (("build", "--resolutions", "x"), "error: --resolutions 'x': give integers such as 6,7,8"),
    (("export", "hexagons", "-o", "out.xyz"),
     "error: unknown format 'xyz': use --format parquet, geojson or csv"),
    (("ingest", "cameras", "[bold]x[/].csv"), "error: no such file: [bold]x[/].csv"),  # no markup
])
def test_errors_are_one_line_on_stderr(database_url: str, args: tuple[str, ...],
                                       message: str) -> None:
    assert _invoke(*args) == (1, "", message + "\n")


def test_wrong_usage_is_exit_2() -> None:
    code, out, err = _invoke("no-such-command")
    assert code == 2 and out == "" and "No such command" in err


def test_an_unwritable_file_is_one_line_not_a_traceback(database_url: str) -> None:
    # Through main(), as the console script runs it: OSError from any command is one line.
    result = subprocess.run(
        [sys.executable, "-m", "camdensity", "export", "hexagons", "-o", "/no-such-dir/x.csv"],
        env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True,
        check=False, timeout=120)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: No such file or directory: /no-such-dir/x.csv.partial\n"
