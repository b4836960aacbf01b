"""The bundled demo: which files `camdensity demo` loads (package data of `camdensity.data`)."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

DATA: Traversable = files("camdensity.data")
US_WEST_BBOX = "-125,36,-102,49"

# (ingest sub-command, file, extra arguments); each import is a no-op once loaded.
DEMO_IMPORTS: tuple[tuple[str, Traversable, tuple[str, ...]], ...] = (
    ("cameras", DATA / "helsinki" / "helsinki_center.osm.pbf", ("--source", "osm-helsinki")),
    ("sites", DATA / "helsinki" / "helsinki_center.osm.pbf", ("--source", "osm-helsinki")),
    ("addresses", DATA / "helsinki" / "helsinki_center.osm.pbf", ("--source", "osm-helsinki")),
    (
        "cameras", DATA / "us" / "osm_surveillance_us_west_2026-01.json",
        ("--source", "osm-us-west-2026-01", "--kind", "crowdsourced", "--licence", "ODbL-1.0",
         "--attribution", "© OpenStreetMap contributors"),
    ),
    (
        "sites", DATA / "us" / "ice_facilities_uwchr.csv",
        (
            "--source", "ice-facilities-uwchr", "--kind", "reported", "--category", "immigration",
            "--lat", "lat", "--lon", "long", "--name", "name", "--id", "detloc",
            "--bbox", US_WEST_BBOX, "--licence", "public records (US FOIA), compiled by UWCHR",
        ),
    ),
)
