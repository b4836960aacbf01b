"""`camdensity serve --workers N`: several processes answer, and /metrics counts all of them."""

from __future__ import annotations

import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
from prometheus_client.parser import text_string_to_metric_families

from camdensity import testing
from camdensity.service.abuse import solve
from camdensity.settings import database_settings

ROOT = Path(__file__).resolve().parent.parent


def parent_of(pid: int) -> int:
    """The parent process id of `pid` (/proc/PID/stat, field 4)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_two_workers_answer_and_metrics_sum_them(helsinki: str, tmp_path: Path) -> None:
    port, metrics_port = testing.free_port(), testing.free_port()
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {**os.environ, "DATABASE_URL": helsinki, "CAMDENSITY_METRICS_PORT": str(metrics_port),
           "CAMDENSITY_METRICS_REFRESH_S": "0.2", "PROMETHEUS_MULTIPROC_DIR": str(shared),
           "CAMDENSITY_REPORTS_ENABLED": "true", "CAMDENSITY_REPORTS_POW_BITS": "4"}
    command = [sys.executable, "-m", "camdensity", "serve", "--port", str(port), "--workers", "2"]
    with testing.serving(command, port, env, ROOT) as base:
        sent = 0
        pids: set[int] = set()
        with ThreadPoolExecutor(16) as pool:
            # Fresh connections at once land on either worker; ask until both have answered.
            for _ in range(20):
                answers = list(pool.map(lambda _: httpx.get(f"{base}/readyz").status_code,
                                        range(16)))
                assert answers == [200] * 16
                sent += 16
                pids = {int(m[1]) for p in shared.glob("counter_*.db")
                        if (m := re.fullmatch(r"counter_(\d+)\.db", p.name))}
                if len(pids) == 2:
                    break
        assert len(pids) == 2, f"one worker answered everything: {pids}"
        assert len({parent_of(pid) for pid in pids}) == 1  # siblings under one `serve`

        def scrape() -> dict[str, list]:
            text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
            return {f.name: f.samples for f in text_string_to_metric_families(text)}

        families = scrape()
        counted = sum(s.value for s in families["camdensity_http_requests"]
                      if s.name.endswith("_total") and s.labels["route"] == "/readyz")
        assert counted == sent  # every worker's requests, whichever one was scraped
        # Each worker writes its pool at its refresh: the maxima add up over both workers.
        per_worker = database_settings().pool_max_size
        for _ in range(50):
            pool_max = [s.value for s in scrape().get("camdensity_pool_connections_max", [])]
            if pool_max == [2 * per_worker]:
                break
            httpx.get(f"{base}/healthz")
        assert pool_max == [2 * per_worker]

        # Reports with two workers: their roles granted once by `serve` (concurrent GRANTs would
        # collide), a challenge checked by whichever worker gets the POST (its key is in the store).
        receipts = []
        for _ in range(4):
            c = httpx.get(f"{base}/reports/challenge").json()
            r = httpx.post(f"{base}/reports", json={
                "lat": 60.17, "lon": 24.94, "camera_type": "cctv", "challenge": c["challenge"],
                "nonce": solve(c["challenge"], c["bits"])})
            assert r.status_code == 202, r.text
            receipts.append(r.json()["receipt"])
        assert [httpx.delete(f"{base}/reports/{x}").status_code for x in receipts] == [204] * 4
