"""`/report`: the citable page (rendered in real Chromium), its CSV and JSON, on the planted store."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from routes.evidence_seed import (  # noqa: F401  (fixtures)
    PLANTED,
    SNAPSHOT,
    evidence_client,
    evidence_db,
    few_resamples,
)
from routes.test_map import CHROMIUM, browser_page

QUESTION = {"category": "clinic", "radius": 200}


@pytest.fixture(scope="module")
def client(evidence_client: TestClient) -> TestClient:  # noqa: F811
    return evidence_client


def test_json_and_csv_carry_the_comparison(client: TestClient) -> None:
    analysis = client.get("/analysis/sites", params=QUESTION).json()
    r = client.get("/report", params={**QUESTION, "format": "json"})
    assert r.status_code == 200
    report = r.json()
    assert report["comparison"] == analysis and report["snapshot"] == SNAPSHOT
    # The lists rank by cameras within 200 m (all operators, as /sites shows them).
    everyone = sorted(PLANTED.counts(PLANTED.clinics, 200, private=True), reverse=True)
    most = [s["cameras_200m"] for s in report["most_watched"]]
    least = [s["cameras_200m"] for s in report["least_watched"]]
    assert most == everyone[:10] and least == sorted(everyone)[:10]
    assert report["sources"][0]["licence"] == "CC0-1.0"
    assert any("not camera-free" in c for c in report["caveats"])
    assert "times as many cameras within 200 m" in report["verdict"]

    text = client.get("/report", params={**QUESTION, "format": "csv"})
    assert text.headers["content-type"].startswith("text/csv")
    assert f'camdensity-report-clinic-{SNAPSHOT}.csv' in text.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(text.text)))
    fields = {row[0]: row[1] for row in rows if len(row) == 2}
    assert float(fields["ratio_mean_estimate"]) == analysis["ratio_mean"]["estimate"]
    assert fields["snapshot"] == SNAPSHOT and fields["n_sites"] == "12"
    ranked = [row for row in rows if len(row) == 9 and row[1] == "most"]
    assert [int(row[5]) for row in ranked] == most


def test_too_small_says_so(client: TestClient) -> None:
    lons = sorted(lon for lon, _ in PLANTED.clinics)
    page = client.get("/report", params={**QUESTION, "area": f"{lons[0] - 1e-6},60,{lons[2]},61"})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"  # a place asked about: no shared cache
    assert "Too small to say" in page.text and "<svg" not in page.text


def test_bad_category(client: TestClient) -> None:
    r = client.get("/report", params={"category": "zoo"})
    assert r.status_code == 422 and "unknown category 'zoo'" in r.text


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_renders_the_report(client: TestClient, tmp_path: Path) -> None:
    html = client.get("/report", params=QUESTION).text
    analysis = client.get("/analysis/sites", params=QUESTION).json()
    from PIL import Image

    with browser_page() as page:
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.set_content(html, wait_until="load")
        verdict = page.inner_text("#verdict")
        ratio = page.inner_text("#ratio-mean")
        names = page.locator("#most-watched td:first-child").all_inner_texts()
        bar = page.locator("svg rect.ci").first.bounding_box()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert requests == []  # nothing fetched: the chart is inline SVG, no script, no font
    assert f"{analysis['ratio_mean']['estimate']:.2f}" in ratio
    assert "times as many cameras" in verdict
    assert len(names) == 10 and all(n.startswith("Clinic ") for n in names)
    # The interval bar is drawn: its box is wide, and its colour is on the screenshot.
    assert bar is not None and bar["width"] > 20
    image = Image.open(tmp_path / "report.png").convert("RGB")
    y = int(bar["y"] + bar["height"] / 2)
    row = [image.getpixel((x, y)) for x in range(int(bar["x"]), int(bar["x"] + bar["width"]))]
    light_orange = [p for p in row if p[0] > 220 and 150 < p[1] < 215 and p[2] < 190]
    assert len(light_orange) > 15  # the interval's fill, beside the estimate's dark mark
