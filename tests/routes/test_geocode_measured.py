"""The offline geocoder measured on addresses as people type them (issue 9).

Several hundred queries are generated from the NYC schools file (../shared/data/nyc; skipped
when absent) and the Helsinki OSM addresses (data/), with the variants people type:
abbreviations and ordinals, lower case, a typo, no city, no ZIP, a wrong ZIP. Some NYC
addresses are held out of the import, so the geocoder must say it only knows the street (or
nothing). Reported: the share answered within 50 m of the true point, the share answered 404 or
300 (ambiguous), and the share *confidently wrong* (more than 250 m off with precision
`address`), which must be 0. Run with `-s` to see the table.
"""

from __future__ import annotations

import csv
import math
import random
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import HELSINKI_PBF, SHARED_DATA, run_cli
from fastapi.testclient import TestClient

from camdensity import testing

NYC_SCHOOLS = SHARED_DATA / "nyc" / "nyc_schools.csv"
NYC_QUERIES = 300
NYC_HELD_OUT = 40
HELSINKI_QUERIES = 120
WITHIN_M = 50.0
WRONG_M = 250.0

ABBREVIATIONS = {
    "STREET": "St", "AVENUE": "Ave", "BOULEVARD": "Blvd", "PARKWAY": "Pkwy", "PLACE": "Pl",
    "ROAD": "Rd", "DRIVE": "Dr", "LANE": "Ln", "TERRACE": "Ter", "COURT": "Ct", "EAST": "E",
    "WEST": "W", "NORTH": "N", "SOUTH": "S", "HIGHWAY": "Hwy", "EXPRESSWAY": "Expy",
    "SQUARE": "Sq", "CONCOURSE": "Concourse",
}


def _m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def _ordinal(word: str) -> str:
    n = int(word)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{word}{suffix}"


def abbreviate(address: str) -> str:
    """"328 WEST 48 STREET" -> "328 W 48th St": types, directionals, ordinals as people write."""
    words = address.split()
    out = [words[0]]
    for w in words[1:]:
        up = w.upper()
        if up in ABBREVIATIONS:
            out.append(ABBREVIATIONS[up])
        elif w.isdigit():
            out.append(_ordinal(w))
        else:
            out.append(w.title())
    return " ".join(out)


def typo(address: str, rng: random.Random) -> str:
    """One letter dropped or two swapped in the longest name word (not a type or number)."""
    words = address.split()
    names = [i for i, w in enumerate(words[1:], 1)
             if w.isalpha() and len(w) >= 5 and w.upper() not in ABBREVIATIONS]
    if not names:
        return address.lower()
    i = max(names, key=lambda j: len(words[j]))
    w = words[i]
    k = rng.randrange(1, len(w) - 2)
    words[i] = w[:k] + w[k + 1:] if rng.random() < 0.5 else w[:k] + w[k + 1] + w[k] + w[k + 2:]
    return " ".join(words).lower()


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@dataclass
class Query:
    """One generated query and the true points it may mean."""

    group: str  # "nyc", "nyc-held-out", "helsinki"
    variant: str
    text: str
    truth: list[tuple[float, float]]


def nyc_queries(path: Path, rng: random.Random) -> tuple[list[dict[str, str]], list[Query]]:
    """(rows to import, queries): held-out addresses are left out of the rows."""
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["address"].strip() and r["boro"]]
    by_address: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_address[(" ".join(r["address"].split()).upper(), r["boro"])].append(r)
    keys = sorted(k for k in by_address if re.match(r"^\d[\d-]*\s+\S", k[0]))
    rng.shuffle(keys)
    held = set(keys[:NYC_HELD_OUT])
    zips = sorted({r["zip"] for r in rows if r["zip"]})
    queries = []
    variants = ("full", "abbreviated", "lower-no-zip", "no-city", "typo", "wrong-zip", "bare")
    for n, key in enumerate(keys[:NYC_HELD_OUT + NYC_QUERIES]):
        address, boro = key
        first = by_address[key][0]
        zipcode = first["zip"]
        truth = [(float(r["lon"]), float(r["lat"])) for r in by_address[key]]
        variant = variants[n % len(variants)]
        text = {
            "full": f"{address}, {boro}, NY {zipcode}",
            "abbreviated": f"{abbreviate(address)}, {boro}",
            "lower-no-zip": f"{address.lower()} {boro.lower()}",
            "no-city": f"{abbreviate(address)} {zipcode}",
            "typo": f"{typo(address, rng)}, {boro}",
            "wrong-zip": f"{address}, {boro} {rng.choice([z for z in zips if z != zipcode])}",
            "bare": address,
        }[variant]
        queries.append(Query("nyc-held-out" if key in held else "nyc", variant, text, truth))
    kept = [r for r in rows if (" ".join(r["address"].split()).upper(), r["boro"]) not in held]
    return kept, queries


def helsinki_queries(conn: psycopg.Connection, rng: random.Random) -> list[Query]:
    """Queries for addresses of the Helsinki extract, typed in several ways."""
    found = conn.execute(
        "SELECT street, housenumber, min(postcode), array_agg(ST_X(geom)), array_agg(ST_Y(geom)) "
        "FROM address JOIN source s ON s.id = source_id "
        "WHERE s.name = 'osm-helsinki' AND street IS NOT NULL "
        "AND housenumber ~ '^[0-9]+[A-Za-z]?$' "
        "GROUP BY street, housenumber ORDER BY street, housenumber"
    ).fetchall()
    rng.shuffle(found)
    variants = ("plain", "lower-no-accents", "typo", "postcode-city", "upper")
    queries = []
    for n, (street, number, postcode, xs, ys) in enumerate(found[:HELSINKI_QUERIES]):
        variant = variants[n % len(variants)]
        text = {
            "plain": f"{street} {number}",
            "lower-no-accents": strip_accents(f"{street} {number}, helsinki").lower(),
            "typo": f"{typo(f'1 {street}', rng)[2:]} {number}",
            "postcode-city": f"{street} {number}, {postcode or ''} Helsinki",
            "upper": f"{street} {number}".upper(),
        }[variant]
        queries.append(Query("helsinki", variant, text, list(zip(xs, ys, strict=True))))
    return queries


@pytest.fixture(scope="module")
def measured(admin_url: str, tmp_path_factory: pytest.TempPathFactory,
             ) -> Iterator[tuple[str, list[Query]]]:
    """A store with the NYC schools (less the held-out ones) and Helsinki addresses; queries."""
    if not NYC_SCHOOLS.exists():
        pytest.skip(f"{NYC_SCHOOLS} is not here (shared data)")
    rng = random.Random(9)
    kept, nyc = nyc_queries(NYC_SCHOOLS, rng)
    path = tmp_path_factory.mktemp("nyc") / "schools.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(kept[0]))
        writer.writeheader()
        writer.writerows(kept)
    with testing.scratch_database(admin_url) as url:
        # The one-column `address` CSV: split into number and street by the standardiser.
        run_cli("ingest", "addresses", str(path), "--source", "nyc-schools")
        run_cli("ingest", "addresses", str(HELSINKI_PBF), "--source", "osm-helsinki")
        with psycopg.connect(url) as conn:
            helsinki = helsinki_queries(conn, rng)
        yield url, nyc + helsinki


@dataclass
class Outcome:
    """What one query got, as the user sees it."""

    query: Query
    status: int
    precision: str | None = None
    score: float | None = None
    error_m: float | None = None
    uncertainty_m: float | None = None

    @property
    def within(self) -> bool:
        return self.status == 200 and self.error_m is not None and self.error_m <= WITHIN_M

    @property
    def confident_wrong(self) -> bool:
        return (self.status == 200 and self.precision == "address"
                and self.error_m is not None and self.error_m > WRONG_M)


def ask(client: TestClient, q: Query) -> Outcome:
    r = client.get("/geocode", params={"address": q.text})
    if r.status_code != 200:
        assert r.status_code in (300, 404), r.text
        return Outcome(q, r.status_code)
    loc: dict[str, Any] = r.json()["location"]
    error = min(_m(loc["lon"], loc["lat"], x, y) for x, y in q.truth)
    return Outcome(q, 200, loc["precision"], loc["score"], error, loc["uncertainty_m"])


def _in_radius(outcomes: list[Outcome]) -> str:
    """Share of street-level answers whose true point is within the radius they gave."""
    street = [o for o in outcomes if o.precision == "street"]
    if not street:
        return "-"
    return f"{sum((o.error_m or 0) <= (o.uncertainty_m or 0) for o in street) / len(street):.0%}"


def report(outcomes: list[Outcome]) -> str:
    lines = [(f"{'group':14} {'variant':18} {'n':>4} {'<=50m':>6} {'404/300':>7} {'street':>6} "
             f"{'in radius':>9} {'conf.wrong':>10}")]
    keys = sorted({(o.query.group, o.query.variant) for o in outcomes})
    for group, variant in [*keys, ("all", "")]:
        sel = [o for o in outcomes
               if group == "all" or (o.query.group, o.query.variant) == (group, variant)]
        n = len(sel)
        lines.append(
            f"{group:14} {variant:18} {n:4d} {sum(o.within for o in sel) / n:6.1%} "
            f"{sum(o.status != 200 for o in sel) / n:7.1%} "
            f"{sum(o.precision == 'street' for o in sel) / n:6.1%} "
            f"{_in_radius(sel):>9} "
            f"{sum(o.confident_wrong for o in sel) / n:10.1%}")
    return "\n".join(lines)


def test_geocoder_on_addresses_as_people_type_them(measured: tuple[str, list[Query]]) -> None:
    from camdensity.service.main import create_app

    url, queries = measured
    assert len(queries) >= 400
    with TestClient(create_app(url)) as client:
        outcomes = [ask(client, q) for q in queries]
    table = report(outcomes)
    print("\n" + table)
    wrong = [(o.query.text, o.error_m) for o in outcomes if o.confident_wrong]
    assert wrong == [], f"confidently wrong answers:\n{wrong}\n{table}"

    nyc = [o for o in outcomes if o.query.group == "nyc"]
    assert sum(o.within for o in nyc) / len(nyc) >= 0.95, table
    helsinki = [o for o in outcomes if o.query.group == "helsinki"]
    assert sum(o.within for o in helsinki) / len(helsinki) >= 0.85, table
    # Held-out addresses are not in the store: never an address-level answer far away, and
    # mostly the street they are on, with a radius that says how far the answer may be.
    held = [o for o in outcomes if o.query.group == "nyc-held-out"]
    assert not any(o.precision == "address" and (o.error_m or 0) > WITHIN_M for o in held), table

    # The score is calibrated: answers at 0.8 or more are right (within 50 m) at least 98% of
    # the time; the rule that turns low scores into 404s keeps the rest honest.
    sure = [o for o in outcomes if o.status == 200 and (o.score or 0) >= 0.8
            and o.precision == "address"]
    assert sure and sum(o.within for o in sure) / len(sure) >= 0.98, table
