"""Address imports for the geocoder: one-column addresses, OpenAddresses, no house numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
from conftest import run_cli
from typer.testing import CliRunner


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def _fails(*args: str) -> str:
    from camdensity.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code != 0, result.output
    return result.output


FIELDS = ("SELECT housenumber, street, postcode, city, hn, street_std, street_name, street_dir, "
          "street_type, postcode_std, city_std FROM address ORDER BY id")


def test_one_column_address_is_split_by_the_standardiser(empty_db: str, tmp_path: Path) -> None:
    path = tmp_path / "schools.csv"
    path.write_text(
        "dbn,name,address,zip,boro,lat,lon\n"
        "02M212,P.S. 212,328 WEST  48 STREET,10036,Manhattan,40.7613,-73.9887\n"
        "29Q034,P.S. 034,104-12 SPRINGFIELD BOULEVARD,11429,Queens,40.7110,-73.7377\n"
        "10X001,Mosholu,100 WEST MOSHOLU PARKWAY SOUTH,10468,Bronx,40.8800,-73.8890\n"
        "99X999,No number,MAIN STREET,10468,Bronx,40.8800,-73.8890\n",
        encoding="utf-8",
    )
    out = run_cli("ingest", "addresses", str(path), "--source", "schools").output
    assert "3 accepted, 1 rejected" in out
    assert "no house number (--street-only imports streets without numbers)" in out
    assert _rows(empty_db, FIELDS) == [
        ("328", "WEST 48 STREET", "10036", "Manhattan", "328", "west 48 street", "48", "west",
         "street", "10036", "manhattan"),
        ("104-12", "SPRINGFIELD BOULEVARD", "11429", "Queens", "104-12", "springfield boulevard",
         "springfield", None, "boulevard", "11429", "queens"),
        ("100", "WEST MOSHOLU PARKWAY SOUTH", "10468", "Bronx", "100",
         "west mosholu parkway south", "mosholu", "west south", "parkway", "10468", "bronx"),
    ]


def test_csv_without_house_numbers_is_refused_or_street_only(empty_db: str,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "streets.csv"
    path.write_text("streetname,zip,lat,lon\nOcean Pkwy,11235,40.58,-73.96\n", encoding="utf-8")
    out = _fails("ingest", "addresses", str(path))
    assert "no house number column" in out
    assert "--housenumber" in out and "--address" in out and "--street-only" in out
    assert "streetname, zip, lat, lon" in out
    assert _rows(empty_db, "SELECT count(*) FROM address") == [(0,)]

    out = run_cli("ingest", "addresses", str(path), "--street-only").output
    assert "1 accepted, 0 rejected" in out
    assert _rows(empty_db, "SELECT street_std, housenumber FROM address") == [
        ("ocean parkway", None)]


def test_house_num_column_of_the_issue_is_read(empty_db: str, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("house_num,streetname,lat,lon\n2601,Ocean Pkwy,40.58,-73.96\n",
                    encoding="utf-8")
    run_cli("ingest", "addresses", str(path))
    assert _rows(empty_db, "SELECT housenumber, street FROM address") == [("2601", "Ocean Pkwy")]


def test_openaddresses_csv_and_geojson(empty_db: str, tmp_path: Path) -> None:
    csv_path = tmp_path / "city_of_new_york.csv"
    csv_path.write_text(
        "LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID,HASH\n"
        "-73.9663,40.5876,2601,OCEAN PKWY,,,Brooklyn,NY,11235,,a1b2c3\n"
        "-73.9887,40.7613,328,W 48TH ST,4B,New York,,NY,10036,,d4e5f6\n",
        encoding="utf-8",
    )
    assert "2 accepted, 0 rejected" in run_cli(
        "ingest", "addresses", str(csv_path), "--source", "oa-csv").output
    # OpenAddresses GeoJSON: one feature a line (GeoJSON text sequence); a broken line is rejected.
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-73.9380, 40.6620]},
         "properties": {"hash": "x", "number": "532", "street": "ALBANY AVE", "unit": "",
                        "city": "", "district": "Brooklyn", "region": "NY", "postcode": "11203",
                        "id": ""}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-73.7377, 40.7110]},
         "properties": {"hash": "y", "number": "104-12", "street": "SPRINGFIELD BLVD",
                        "city": "Queens", "postcode": "11429"}},
    ]
    geo_path = tmp_path / "source.geojson"
    geo_path.write_text("\n".join(json.dumps(f) for f in features) + "\n{not json\n",
                        encoding="utf-8")
    out = run_cli("ingest", "addresses", str(geo_path), "--source", "oa-geojson").output
    assert "2 accepted, 1 rejected" in out
    assert _rows(empty_db, "SELECT hn, street_std, postcode_std, city_std FROM address "
                           "ORDER BY id") == [
        ("2601", "ocean parkway", "11235", "brooklyn"),
        ("328", "west 48 street", "10036", "manhattan"),  # "New York" is Manhattan
        ("532", "albany avenue", "11203", "brooklyn"),
        ("104-12", "springfield boulevard", "11429", "queens"),
    ]
