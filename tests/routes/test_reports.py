"""Crowdsourced reports (issue 11): a report's whole life, the abuse limits, the proof of work,
the moderation key, least privilege, and that nothing about a reporter is written anywhere."""

from __future__ import annotations

import base64
import hashlib
import logging
import subprocess
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from conftest import run_cli
from fastapi.testclient import TestClient

from camdensity import roles, testing
from camdensity.cluster import pg_bindir
from camdensity.service import report_queue
from camdensity.service.abuse import ClientLimiter, ProofOfWork, client_address, solve
from camdensity.settings import ReportSettings, database_settings
from routes.test_tiles import decode, tile_of
from routes.test_web import app_with

HERE = (60.1699, 24.9384)  # lat, lon: central Helsinki
FAST = {"reports_enabled": "true", "reports_pow_bits": "6"}


@pytest.fixture(scope="module")
def reports_db(admin_url: str) -> Iterator[str]:
    url = testing.create_database(admin_url, "camdensity_reports")
    try:
        yield url
    finally:
        testing.drop_database(admin_url, url)


def report(client: TestClient, lat: float = HERE[0], lon: float = HERE[1],
           headers: dict[str, str] | None = None, **fields: Any) -> Any:
    """POST a report as the map page does: ask a challenge, solve it, send."""
    c = client.get("/reports/challenge").json()
    body = {"lat": lat, "lon": lon, "camera_type": "alpr", "operator_type": "public",
            "challenge": c["challenge"], "nonce": solve(c["challenge"], c["bits"]), **fields}
    return client.post("/reports", json=body, headers=headers or {})


def owner(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def test_reports_are_off_by_default(monkeypatch: pytest.MonkeyPatch, reports_db: str) -> None:
    with app_with(monkeypatch, reports_db) as c:
        for r in (c.get("/reports/challenge"), c.post("/reports", json={}),
                  c.delete("/reports/" + "a" * 32), c.get("/admin/reports")):
            assert r.status_code == 404 and "CAMDENSITY_REPORTS_ENABLED" in r.json()["detail"]


def test_a_reports_whole_life(monkeypatch: pytest.MonkeyPatch, empty_db: str) -> None:
    with app_with(monkeypatch, empty_db, **FAST) as c:
        # Sent, then withdrawn: gone at once, and the receipt no longer works.
        r = report(c, camera_type="cctv", operator_type="business")
        assert r.status_code == 202 and r.headers["cache-control"] == "no-store"
        receipt = r.json()["receipt"]
        assert owner(empty_db, "SELECT count(*) FROM report_queue") == [(1,)]
        assert c.delete(f"/reports/{receipt}").status_code == 204
        assert owner(empty_db, "SELECT count(*) FROM report_queue") == [(0,)]
        assert c.delete(f"/reports/{receipt}").status_code == 404
        # The receipt is stored only hashed.
        assert receipt.encode() not in dump(empty_db)

        kept = report(c, direction="NE", mount="pole", note="on the corner lamp post")
        assert kept.status_code == 202
        dropped = report(c, lat=HERE[0] + 0.01, camera_type="doorbell", operator_type="private")
        assert dropped.status_code == 202

        # Moderation needs the key; `camdensity admin-key` prints it once.
        assert c.get("/admin/reports").status_code == 401
        key = run_cli("admin-key").stdout.strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {key}"}
        pending = c.get("/admin/reports", headers=auth).json()
        assert [(p["camera_type"], p["operator_type"], p["direction"], p["mount"], p["age_hours"])
                for p in pending] == [("alpr", "public", "NE", "pole", 0),
                                      ("doorbell", "private", None, None, 0)]
        assert pending[0]["lat"] == pytest.approx(HERE[0]) and pending[0]["likely_duplicates"] == []
        assert set(pending[0]) == {"id", "lat", "lon", "camera_type", "operator_type",
                                   "operator", "direction", "mount", "note", "age_hours",
                                   "likely_duplicates"}

        ok = c.post(f"/admin/reports/{pending[0]['id']}/approve", headers=auth)
        assert ok.json() == {"id": pending[0]["id"], "status": "approved"}
        no = c.post(f"/admin/reports/{pending[1]['id']}/reject", headers=auth)
        assert no.json() == {"id": pending[1]["id"], "status": "rejected"}
        assert c.post(f"/admin/reports/{pending[1]['id']}/approve", headers=auth).status_code == 404
        assert c.get("/admin/reports", headers=auth).json() == []
        assert owner(empty_db, "SELECT status, decided_on = current_date FROM report_queue") == [
            ("rejected", True)]

    # The approved report is a camera report of the `web-reports` source, fused by the build.
    assert owner(empty_db, "SELECT s.name, s.kind, r.camera_type, r.operator_type, r.direction_deg "
                           "FROM camera_report r JOIN source s ON s.id = r.source_id") == [
        ("web-reports", "crowdsourced", "alpr", "public", 45.0)]
    run_cli("build", "--resolutions", "9,12")
    with app_with(monkeypatch, empty_db, **FAST) as c:
        x, y = tile_of(HERE[1], HERE[0], 12)
        hexagons = decode(c.get(f"/tiles/12/{x}/{y}.mvt").content)["hexagons"]
        assert [(h["cameras"], h["alpr"], h["op_public"]) for h in hexagons] == [(1, 1, 1)]
        cov = c.get("/coverage", params={"lat": HERE[0], "lon": HERE[1], "radius": 50}).json()
        assert cov["cameras"]["total"] == 1 and cov["cameras"]["by_type"]["alpr"] == 1
        assert "web-reports" in c.get("/tiles.json").json()["attribution"]
        # A second build with nothing new approved is up to date; a new approval changes that.
        assert "up to date" in run_cli("build", "--resolutions", "9,12").stdout

    # Rejected reports are deleted once the retention period has passed.
    owner(empty_db, "UPDATE report_queue SET decided_on = current_date - 30")
    with app_with(monkeypatch, empty_db, **FAST) as c:
        c.get("/admin/reports", headers=auth)
    assert owner(empty_db, "SELECT count(*) FROM report_queue") == [(0,)]


def dump(url: str) -> bytes:
    """pg_dump of the whole database (data and schema), as bytes."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    args = [str(pg_bindir() / "pg_dump"), "--no-owner", "-d", psycopg.conninfo.make_conninfo(**info)]
    res = subprocess.run(args, check=True, capture_output=True, timeout=60)
    return res.stdout


def test_the_rotating_key_and_the_address_are_written_nowhere(
        monkeypatch: pytest.MonkeyPatch, reports_db: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    address = "203.0.113.77"
    with app_with(monkeypatch, reports_db, trusted_proxies='["10.0.0.0/8"]',
                  **FAST) as c:
        # The TestClient's peer is not an IP; a trusted proxy hop forwards the client's address.
        monkeypatch.setattr("camdensity.service.routes.reports.client_address",
                            lambda peer, fwd, trusted: client_address("10.0.0.1", fwd, trusted))
        assert report(c, headers={"X-Forwarded-For": f"{address}, 10.0.0.2"}).status_code == 202
        limiter = c.app.state.reports.limiter
        key = limiter._key
        assert len(key) == 32
        counter = next(iter(limiter._hits))  # HMAC(key, address): not stored either
    data = dump(reports_db)
    logs = caplog.text.encode()
    log_file = (database_settings().home / "postgres.log")
    server_log = log_file.read_bytes() if log_file.exists() else b""
    for secret in (key, key.hex().encode(), base64.b64encode(key), base64.urlsafe_b64encode(key),
                   counter, counter.hex().encode(), address.encode()):
        assert secret not in data and secret not in logs and secret not in server_log
    # What the store holds about the report: no address, no agent, the hour and no finer.
    cols = owner(reports_db, "SELECT column_name FROM information_schema.columns "
                             "WHERE table_name = 'report_queue'")
    assert not {c for (c,) in cols} & {"ip", "address", "user_agent", "created_at"}
    minutes = owner(reports_db, "SELECT DISTINCT extract(minute FROM received_hour), "
                                "extract(second FROM received_hour) FROM report_queue")
    assert minutes == [(0, 0)]


def test_per_client_limit_is_hit_and_resets(monkeypatch: pytest.MonkeyPatch, reports_db: str) -> None:
    with app_with(monkeypatch, reports_db, reports_per_client="2", **FAST) as c:
        assert report(c).status_code == 202
        assert report(c).status_code == 202
        r = report(c)
        assert r.status_code == 429 and "CAMDENSITY_REPORTS_PER_CLIENT" in r.json()["detail"]
        assert 1 <= int(r.headers["retry-after"]) <= 3600
    # The window slides, and a rotation forgets every counter (with a clock we control).
    now = [1_000_000.0]
    limiter = ClientLimiter(ReportSettings(reports_per_client=1, reports_client_window_s=60,
                                           reports_key_rotation_s=86_400), clock=lambda: now[0])
    assert limiter.hit("198.51.100.1") == 0
    assert limiter.hit("198.51.100.1") == 60
    assert limiter.hit("198.51.100.2") == 0  # another client has its own counter
    now[0] += 61
    assert limiter.hit("198.51.100.1") == 0
    old_key = limiter._key
    now[0] += 86_400
    assert limiter._key == old_key and limiter.hit("198.51.100.1") == 0
    assert limiter._key != old_key and len(limiter._hits) == 1


def test_per_area_limit_is_hit_and_resets(monkeypatch: pytest.MonkeyPatch, empty_db: str) -> None:
    with app_with(monkeypatch, empty_db, reports_per_area_hour="2", reports_per_client="50",
                  **FAST) as c:
        assert report(c).status_code == 202
        assert report(c, lat=HERE[0] + 0.0005).status_code == 202  # same res-7 cell
        r = report(c, lat=HERE[0] + 0.001)
        assert r.status_code == 429 and "CAMDENSITY_REPORTS_PER_AREA_HOUR" in r.json()["detail"]
        assert 1 <= int(r.headers["retry-after"]) <= 3600
        assert report(c, lat=HERE[0] - 0.2).status_code == 202  # another area
        # An hour later the area takes reports again.
        owner(empty_db, "UPDATE report_queue SET received_hour = received_hour - interval '1 hour'")
        assert report(c, lat=HERE[0] + 0.001).status_code == 202


def test_proof_of_work_is_required_and_spent_once(monkeypatch: pytest.MonkeyPatch,
                                                  reports_db: str) -> None:
    with app_with(monkeypatch, reports_db, reports_per_client="50",
                  **{**FAST, "reports_pow_bits": "12"}) as c:
        ch = c.get("/reports/challenge").json()
        assert ch["bits"] == 12
        body = {"lat": HERE[0], "lon": HERE[1], "camera_type": "cctv", "challenge": ch["challenge"]}
        nonce = solve(ch["challenge"], 12)
        wrong = str(next(n for n in range(10_000) if hashlib.sha256(
            f"{ch['challenge']}:{n}".encode()).digest()[:2] != b"\0\0" and str(n) != nonce))
        r = c.post("/reports", json={**body, "nonce": wrong})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "nonce"]
        assert c.post("/reports", json={**body, "nonce": nonce}).status_code == 202
        again = c.post("/reports", json={**body, "nonce": nonce})
        assert again.status_code == 422 and "already used" in again.json()["detail"]
        forged = ch["challenge"].rsplit(".", 1)[0] + "." + "0" * 32
        r = c.post("/reports", json={**body, "challenge": forged, "nonce": solve(forged, 12)})
        assert r.status_code == 422 and "not one this service issued" in r.json()["detail"]
    now = [1_000_000.0]
    pow_ = ProofOfWork(b"k" * 32, ReportSettings(reports_pow_bits=4, reports_challenge_ttl_s=60),
                       clock=lambda: now[0])
    c4 = pow_.issue()
    now[0] += 61
    assert "expired" in (pow_.check(c4.text, solve(c4.text, 4)) or "")


@pytest.mark.parametrize(("change", "where"), [
    ({"lat": 91}, "lat"), ({"lon": -181}, "lon"), ({"camera_type": "laser"}, "camera_type"),
    ({"operator_type": "mafia"}, "operator_type"), ({"direction": "sideways"}, "direction"),
    ({"note": "a\x00b"}, "note"), ({"note": "x" * 281}, "note"), ({"email": "a@b.c"}, "email"),
    ({"mount": "drone"}, "mount"),
])
def test_bad_reports_say_what_is_wrong(monkeypatch: pytest.MonkeyPatch, reports_db: str,
                                       change: dict[str, Any], where: str) -> None:
    with app_with(monkeypatch, reports_db, reports_per_client="50", **FAST) as c:
        r = report(c, **change)
        assert r.status_code == 422, r.text
        assert where in r.json()["detail"]


def test_a_large_body_is_refused_before_reading(monkeypatch: pytest.MonkeyPatch,
                                                reports_db: str) -> None:
    with app_with(monkeypatch, reports_db, **FAST) as c:
        r = c.post("/reports", content=b"{" + b" " * 5000 + b"}",
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "CAMDENSITY_REPORTS_MAX_BODY_BYTES" in r.json()["detail"]


def test_client_address_trusts_only_listed_proxies() -> None:
    fwd = "198.51.100.9, 203.0.113.5, 10.1.1.1"
    assert client_address("192.0.2.1", fwd, []) == "192.0.2.1"  # untrusted peer: its own
    assert client_address("10.0.0.1", fwd, ["10.0.0.0/8"]) == "203.0.113.5"  # not the forged one
    assert client_address("10.0.0.1", None, ["10.0.0.0/8"]) == "10.0.0.1"


def test_admin_key_is_required_compared_in_constant_time_and_replaced(
        monkeypatch: pytest.MonkeyPatch, reports_db: str) -> None:
    with testing.pointed_at(reports_db):
        first = run_cli("admin-key").stdout.strip().splitlines()[-1]
        second = run_cli("admin-key").stdout.strip().splitlines()[-1]
    assert first != second
    stored = owner(reports_db, "SELECT key_sha256 FROM report_admin_key")
    assert stored == [(hashlib.sha256(second.encode()).digest(),)]
    assert second.encode() not in dump(reports_db)
    compared: list[tuple[bytes, bytes]] = []
    real = report_queue.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(report_queue.hmac, "compare_digest", spy)
    with app_with(monkeypatch, reports_db, **FAST) as c:
        for headers in ({}, {"Authorization": f"Bearer {first}"},
                        {"Authorization": f"Bearer {second[:-1]}"}, {"Authorization": second}):
            r = c.get("/admin/reports", headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.get("/admin/reports", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    # Every key presented was compared as a digest of fixed length, in constant time.
    assert len(compared) == 3 and all(len(a) == len(b) == 32 for a, b in compared)


def test_roles_hold_only_their_narrow_rights(reports_db: str) -> None:
    settings = database_settings()
    api_url, _ = roles.api_credentials(reports_db, settings)
    reporter_url, moderator_url = roles.prepare_reports(reports_db, settings)
    owner(reports_db, "INSERT INTO source (name, entity, kind, file_name, file_sha256, format) "
                      "VALUES ('private-test', 'cameras', 'reported', 'x', 'x', 'csv') "
                      "ON CONFLICT DO NOTHING")
    denied = {
        api_url: ["SELECT * FROM report_queue", "SELECT receipt_sha256 FROM report_queue",
                  "DELETE FROM report_queue", "SELECT * FROM report_admin_key",
                  "SELECT * FROM report_pow_key", "SELECT camdensity_area_reports(1)",
                  "SELECT camdensity_withdraw_report('\\x00')"],
        reporter_url: ["SELECT geom FROM report_queue", "SELECT note FROM report_queue",
                       "SELECT receipt_sha256 FROM report_queue", "SELECT count(*) FROM report_queue",
                       "SELECT * FROM report_queue", "UPDATE report_queue SET status = 'rejected'",
                       "DELETE FROM report_queue",
                       "SELECT * FROM camera", "SELECT * FROM camera_report",
                       "SELECT * FROM hexagon", "SELECT * FROM report_admin_key",
                       "INSERT INTO camera_report (source_id, geom) VALUES (1, ST_Point(0, 0, 4326))",
                       "TRUNCATE report_queue", "CREATE TABLE x (y int)"],
        moderator_url: ["SELECT * FROM camera", "SELECT geom FROM camera_report",
                        "DELETE FROM camera_report", "UPDATE report_admin_key SET created_on = now()",
                        "DELETE FROM hexagon", "CREATE TABLE x (y int)"],
    }
    for url, statements in denied.items():
        with psycopg.connect(url, autocommit=True) as conn:
            # Even with the API role's read-only default switched off, privileges stop it.
            conn.execute("SET default_transaction_read_only = off")
            for statement in statements:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
    with psycopg.connect(reporter_url, autocommit=True) as conn:
        # What it may do besides INSERT: count an area's hour, delete the report a receipt names.
        assert conn.execute("SELECT camdensity_area_reports(1)").fetchone() == (0,)
        assert conn.execute("SELECT camdensity_withdraw_report('\\x00')").fetchone() == (False,)
        row = conn.execute("SELECT rolsuper, rolcreaterole, rolbypassrls FROM pg_roles "
                           "WHERE rolname = current_user").fetchone()
        assert row == (False, False, False)
