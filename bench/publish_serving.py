"""Publish the bundled US-West data at z0-14, then serve its tiles two ways under wrk.

`make bench-publish` (or `python -m bench.publish_serving`): in a database of its own, imports
the bundled US-West OSM surveillance nodes and ICE facilities, builds, and times

1. `camdensity publish` of the whole data at zooms 0-14: tiles, tiles/s, archive size; then a
   second publish with nothing changed (incremental: every tile copied, none rendered);
2. reading tiles under `wrk` (32 connections, localhost, `BENCH_SECONDS` each, default 10):
   - static: Range requests into tiles.pmtiles from nginx (a plain static file server, 2 worker
     processes, as a CDN edge or object store would serve them), and from the test suite's
     RangeRequestHandler (Python threads: a floor);
   - live: the same tiles from `/tiles/{z}/{x}/{y}.mvt` (uvicorn, one worker), warmed first so
     they come from its in-memory cache, as a busy server's would.
   Both replay one seeded sample of the archive's tiles at zooms 10-14; requests/s and p99 latency.

Prints one line per figure. Needs `wrk` and `nginx` (scripts/install-system.sh --bench).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib.resources import as_file
from pathlib import Path

from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import deserialize_directory, tileid_to_zxy
from typer.testing import CliRunner

from camdensity import testing
from camdensity.cli import app
from camdensity.demo import DEMO_IMPORTS, US_WEST_BBOX
from camdensity.publish import ARCHIVE, publish
from camdensity.tiles.archive import ArchiveRequest

ROOT = Path(__file__).resolve().parents[1]  # the checkout: uvicorn runs from it
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = 32
SAMPLE = 2000  # distinct tiles replayed
WRK_SCRIPT = """
local reqs = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do
    local path, range = line:match("^(%S+) ?(.*)$")
    local headers = {["Accept-Encoding"] = "gzip"}
    if range ~= "" then headers["Range"] = "bytes=" .. range end
    table.insert(reqs, wrk.format("GET", path, headers))
  end
  i = math.random(#reqs)
end
request = function()
  i = i % #reqs + 1
  return reqs[i]
end
"""


def say(line: str) -> None:
    print(line, flush=True)


def cli(*args: str) -> None:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    if result.exit_code:
        raise SystemExit(f"camdensity {' '.join(args)} failed:\n{result.output}")


def load_us_west() -> None:
    """The demo's US-West imports (not Helsinki), then a build."""
    for entity, resource, extra in DEMO_IMPORTS:
        if "helsinki" not in resource.name:
            with as_file(resource) as path:
                cli("ingest", entity, str(path), *extra)
    cli("build")


def entries(path: Path) -> list[tuple[int, int, int, int, int]]:
    """(z, x, y, absolute offset, length) of every tile in a PMTiles archive."""
    out = []
    with path.open("rb") as fh:
        get_bytes = MmapSource(fh)
        header = Reader(get_bytes).header()

        def walk(offset: int, length: int) -> None:
            for e in deserialize_directory(get_bytes(offset, length)):
                if e.run_length == 0:
                    walk(header["leaf_directory_offset"] + e.offset, e.length)
                    continue
                for i in range(e.run_length):
                    z, x, y = tileid_to_zxy(e.tile_id + i)
                    out.append((z, x, y, header["tile_data_offset"] + e.offset, e.length))

        walk(header["root_offset"], header["root_length"])
    return out


def wrk(url: str, requests: Path, script: Path) -> tuple[float, str]:
    """(requests/s, p99 latency text) of wrk replaying `requests` against `url`."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "-s", str(script), url,
         "--", str(requests)],
        check=True, capture_output=True, text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        say(f"  ({errors.group(1)} non-2xx responses)")
    return rps, p99


NGINX_CONF = """
worker_processes 2;
daemon off;
user root;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    types {{ application/octet-stream pmtiles; }}
    client_body_temp_path {work}/nginx-tmp;
    proxy_temp_path {work}/nginx-tmp;
    fastcgi_temp_path {work}/nginx-tmp;
    uwsgi_temp_path {work}/nginx-tmp;
    scgi_temp_path {work}/nginx-tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def nginx(root: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """nginx serving `root` on a free localhost port (foreground child); (process, base URL)."""
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=work, port=port, root=root))
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work)])
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/index.html")
    return proc, base


def wait_for(url: str) -> None:
    """Poll `url` until it answers (at most 20 s)."""
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    if shutil.which("wrk") is None:  # nginx is optional: the Python server stands in
        raise SystemExit("wrk is not installed: scripts/install-system.sh --bench")
    work = Path(tempfile.mkdtemp(prefix="camdensity-bench-publish-"))
    try:
        with testing.scratch_database(testing.admin_url(), prefix="camdensity_benchpub") as url:
            started = time.perf_counter()
            load_us_west()
            say(f"load + build US-West: {time.perf_counter() - started:.1f} s")
            bbox = tuple(float(v) for v in US_WEST_BBOX.split(","))
            request = ArchiveRequest(minzoom=0, maxzoom=14, bbox=bbox)  # type: ignore[arg-type]
            out = work / "site"
            first = publish(url, out, request, workers=4, exports=False)
            a = first.archive
            say(f"publish z0-14: {a.tiles:,} tiles ({a.contents:,} distinct, {a.empty:,} empty "
                f"candidates) in {a.seconds:.1f} s = {a.tiles_per_s:,.0f} tiles/s; "
                f"tiles.pmtiles {a.size / 1e6:.1f} MB")
            again = publish(url, out, request, workers=4, exports=False)
            b = again.archive
            say(f"republish, nothing changed: {b.reused:,} tiles copied, {b.rendered:,} rendered, "
                f"{b.seconds:.1f} s ({a.seconds - b.seconds:.1f} s saved)")

            tiles = [t for t in entries(out / ARCHIVE) if 10 <= t[0] <= 14]
            sample = random.Random(20261201).sample(tiles, min(SAMPLE, len(tiles)))
            static_list = work / "static.txt"
            static_list.write_text("".join(f"/{ARCHIVE} {o}-{o + n - 1}\n" for _, _, _, o, n in sample))
            live_list = work / "live.txt"
            live_list.write_text("".join(f"/tiles/{z}/{x}/{y}.mvt\n" for z, x, y, _, _ in sample))
            script = work / "replay.lua"
            script.write_text(WRK_SCRIPT)

            if shutil.which("nginx"):
                proc, base = nginx(out.resolve(), work)
                try:
                    rps, p99 = wrk(base, static_list, script)
                finally:
                    proc.terminate()
                    proc.wait(timeout=10)
                say(f"static (PMTiles ranges, nginx 2 workers): {rps:,.0f} requests/s, p99 {p99}")
            with testing.static_server(out.resolve()) as base:
                rps, p99 = wrk(base, static_list, script)
            say(f"static (PMTiles ranges, Python static server): {rps:,.0f} requests/s, p99 {p99}")

            port = free_port()
            env = {**os.environ, "DATABASE_URL": url}
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "camdensity.service.main:app", "--host",
                 "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
                cwd=ROOT, env=env,
            )
            try:
                live = f"http://127.0.0.1:{port}"
                wait_for(f"{live}/healthz")
                warm = time.perf_counter()
                for z, x, y, _, _ in sample:  # warm: every sampled tile in the server's cache
                    urllib.request.urlopen(f"{live}/tiles/{z}/{x}/{y}.mvt", timeout=30).close()
                say(f"live warm-up ({len(sample):,} tiles rendered once): "
                    f"{time.perf_counter() - warm:.1f} s")
                rps, p99 = wrk(live, live_list, script)
                say(f"live (/tiles, uvicorn 1 worker, warm cache): {rps:,.0f} requests/s, p99 {p99}")
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
