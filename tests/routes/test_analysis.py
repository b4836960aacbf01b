"""`/analysis/sites` and `camdensity analyse` on a planted store, against a haversine recount."""

from __future__ import annotations

import json
import statistics

import h3
import pytest
from conftest import run_cli
from fastapi.testclient import TestClient

from camdensity import testing
from routes.evidence_seed import (  # noqa: F401  (fixtures)
    PLANTED,
    SNAPSHOT,
    evidence_client,
    evidence_db,
    few_resamples,
)


@pytest.fixture(scope="module")
def client(evidence_client: TestClient) -> TestClient:  # noqa: F811
    return evidence_client


def test_clinics_against_every_address(client: TestClient) -> None:
    r = client.get("/analysis/sites", params={"category": "clinic", "radius": 200})
    assert r.status_code == 200, r.text
    a = r.json()
    sites = PLANTED.counts(PLANTED.clinics, 200)
    base = PLANTED.counts(PLANTED.addresses, 200)  # all within 10 km of a clinic: all drawn
    assert (a["n_sites"], a["n_baseline"], a["null_model"]["pool"]) == (12, 240, 240)
    assert a["mean_sites"] == round(statistics.fmean(sites), 4)
    assert a["mean_baseline"] == round(statistics.fmean(base), 4)
    expected = statistics.fmean(sites) / statistics.fmean(base)
    assert a["ratio_mean"]["estimate"] == round(expected, 4)
    assert a["ratio_median"]["estimate"] == round(
        statistics.median(sites) / statistics.median(base), 4)
    # Planted: clinics in the dense quarter, so clearly more watched than the average address.
    assert expected > 2
    assert 1 < a["ratio_mean"]["ci_low"] < expected < a["ratio_mean"]["ci_high"]
    assert a["p_value"] < 0.01 and not a["too_small"]
    assert a["snapshot"] == SNAPSHOT and a["null_model"]["name"] == "addresses"
    # Same question, same data version: the same answer (seeded from the snapshot).
    again = client.get("/analysis/sites", params={"category": "clinic", "radius": 200}).json()
    assert again == a


def test_schools_in_the_sparse_quarter_are_less_watched(client: TestClient) -> None:
    a = client.get("/analysis/sites", params={"category": "school", "radius": 200}).json()
    sites = PLANTED.counts(PLANTED.schools, 200)
    base = PLANTED.counts(PLANTED.addresses, 200)
    expected = statistics.fmean(sites) / statistics.fmean(base)
    assert a["n_sites"] == 10 and a["ratio_mean"]["estimate"] == round(expected, 4)
    assert expected < 0.6 and a["ratio_mean"]["ci_low"] < expected < a["ratio_mean"]["ci_high"] < 1


def test_a_box_and_too_small(client: TestClient) -> None:
    lons = sorted(lon for lon, _ in PLANTED.clinics)
    box = f"{lons[0] - 1e-6},60,{lons[3] + 1e-6},61"  # the four westernmost clinics
    r = client.get("/analysis/sites", params={"category": "clinic", "radius": 100, "area": box})
    assert r.headers["cache-control"] == "no-store"  # a place asked about: no shared cache
    a = r.json()
    assert a["n_sites"] == 4 and a["too_small"]
    assert a["ratio_mean"] == {"estimate": None, "ci_low": None, "ci_high": None}
    assert "CAMDENSITY_ANALYSIS_MIN_SITES=5" in a["reasons"][0]


def test_cells_null_model(client: TestClient) -> None:
    a = client.get("/analysis/sites",
                   params={"category": "clinic", "radius": 200, "null_model": "cells"}).json()
    cells = {h3.latlng_to_cell(lat, lon, 9) for lon, lat in PLANTED.addresses}
    cells |= {h3.latlng_to_cell(lat, lon, 9) for lon, lat, op in PLANTED.cameras
              if op != "private"}
    assert a["null_model"]["pool"] == len(cells)
    assert a["n_baseline"] == 1000 and a["ratio_mean"]["estimate"] > 1.5


@pytest.mark.parametrize(("params", "message"), [
    ({"category": "zoo"}, "unknown category 'zoo'"),
    ({"category": "clinic", "radius": 5000}, "CAMDENSITY_ANALYSIS_MAX_RADIUS_M"),
    ({"category": "clinic", "area": "1,2,3"}, "bbox must be four numbers"),
])
def test_bad_questions(client: TestClient, params: dict, message: str) -> None:
    r = client.get("/analysis/sites", params=params)
    assert r.status_code == 422 and message in r.text


def test_cli_gives_the_same_answer(client: TestClient, evidence_db: str) -> None:  # noqa: F811
    served = client.get("/analysis/sites", params={"category": "clinic", "radius": 100}).json()
    with testing.pointed_at(evidence_db), few_resamples():
        out = run_cli("analyse", "clinic", "--radius", "100", "--json").output
        text = run_cli("analyse", "clinic", "--radius", "100").output
    assert json.loads(out) == served
    assert f"ratio of means {served['ratio_mean']['estimate']:.2f}" in text
    assert "12 sites, 240 baseline places" in text
