"""The "Report a camera" control on /map and the moderation page, driven in real Chromium
(offline: every host but 127.0.0.1 unreachable), checked against what the store holds."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from camdensity import testing
from camdensity.service.main import create_app
from camdensity.service.report_queue import new_admin_key
from routes.test_map import CHROMIUM, browser_page
from routes.tiles_seed import CENTER, tiles_db  # noqa: F401  (fixture)

CONTROL = {"CAMDENSITY_REPORTS_ENABLED": "true", "CAMDENSITY_REPORTS_MAP_CONTROL": "true",
           "CAMDENSITY_REPORTS_POW_BITS": "10"}


def test_map_has_no_report_control_unless_turned_on(
        monkeypatch: pytest.MonkeyPatch, tiles_db: str) -> None:  # noqa: F811
    with TestClient(create_app(tiles_db)) as c:
        assert 'id="report"' not in c.get("/map", params={"zoom": 12}).text
    for env, shown in (({"CAMDENSITY_REPORTS_ENABLED": "true"}, False), (CONTROL, True)):
        with monkeypatch.context() as m:
            for k, v in env.items():
                m.setenv(k, v)
            testing.clear_settings()
            with TestClient(create_app(tiles_db)) as c:
                page = c.get("/map", params={"zoom": 12})
                assert ('id="report"' in page.text) is shown
                # The control's script is allowed by the page's own policy (by hash), no other.
                assert "https:" not in page.headers["content-security-policy"]
        testing.clear_settings()


@pytest.fixture(scope="module")
def server(tiles_db: str) -> Iterator[str]:  # noqa: F811
    with testing.serving_app(tiles_db, **CONTROL) as base:
        yield base


def pending(url: str) -> list[tuple[str, str | None, float, float]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT camera_type, direction, ST_Y(geom), ST_X(geom) "
                            "FROM report_queue WHERE status = 'pending' ORDER BY id").fetchall()


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_a_camera_from_the_map_then_moderate_it(server: str, tiles_db: str) -> None:  # noqa: F811
    lon, lat = CENTER
    refused: list[str] = []
    with browser_page() as page:
        page.on("console", lambda m: refused.append(m.text)
                if "Content Security Policy" in m.text else None)
        page.goto(f"{server}/map?lat={lat}&lon={lon}&zoom=16")
        page.wait_for_selector("body[data-loaded='true']", state="attached", timeout=60_000)
        page.click("#report-start")
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector("#report-send:not([disabled])")
        page.select_option("#report-type", "alpr")
        page.select_option("#report-operator", "public")
        page.fill("#report-direction", "NE")
        page.click("#report-send")
        receipt = page.wait_for_selector("#report-receipt", timeout=30_000).text_content()
        assert receipt and len(receipt) == 32
        # The point clicked is the view's centre: what the store got.
        [(ctype, direction, got_lat, got_lon)] = pending(tiles_db)
        assert (ctype, direction) == ("alpr", "NE")
        assert abs(got_lat - lat) < 0.0005 and abs(got_lon - lon) < 0.0005
        # Withdrawn from the page: deleted at once.
        page.click("#report-withdraw")
        page.wait_for_selector("text=Withdrawn")
        assert pending(tiles_db) == []

        # Sent again and approved on the moderation page, which draws it on its map.
        page.click("#report-start")
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector("#report-send:not([disabled])")
        page.click("#report-send")
        page.wait_for_selector("#report-receipt", timeout=30_000)
        key = new_admin_key(tiles_db)
        page.goto(f"{server}/admin/moderation")
        page.fill("#key", key)
        page.click("#key-form button")
        page.wait_for_selector("body[data-pending='1']", state="attached", timeout=30_000)
        item = page.locator("#queue li").first
        # The form kept its choices (alpr, facing NE); the published cameras within 30 m show.
        assert "alpr · public · facing NE" in item.text_content()
        assert "within 30 m" in item.text_content()
        shown = page.locator("body").get_attribute("data-shown")
        assert shown == item.get_attribute("data-id")
        page.click("#queue li button[data-do='approve']")
        page.wait_for_selector("body[data-pending='0']", state="attached", timeout=30_000)
    assert pending(tiles_db) == []
    with psycopg.connect(tiles_db) as conn:
        assert conn.execute("SELECT r.camera_type FROM camera_report r JOIN source s "
                            "ON s.id = r.source_id WHERE s.name = 'web-reports'").fetchall() == [
            ("alpr",)]
    assert not refused, f"the pages' own Content-Security-Policy blocked: {refused}"
