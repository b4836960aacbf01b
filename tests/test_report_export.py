"""`camdensity export reports --format osm`: approved reports as OSM XML, read back with
pyosmium as JOSM and the OSM tools would read it; private cameras never leave."""

from __future__ import annotations

import asyncio
from pathlib import Path

import osmium
import psycopg
from conftest import run_cli

from camdensity.service import report_queue
from camdensity.settings import DatabaseSettings, ReportSettings

REPORTS = [  # lat, lon, camera_type, operator_type, operator, direction, mount
    (60.1701, 24.9402, "alpr", "public", "Flock Safety", "NE", "pole"),
    (60.1705, 24.9410, "dome", "business", None, "270", "wall"),
    (60.1712, 24.9420, "doorbell", "private", None, None, "doorbell"),
]


def approve_all(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for n, (lat, lon, ctype, otype, operator, direction, mount) in enumerate(REPORTS):
            conn.execute(
                "INSERT INTO report_queue (receipt_sha256, camera_type, operator_type, operator, "
                "direction, mount, geom, area_h3) VALUES (%s, %s, %s, %s, %s, %s, "
                "ST_SetSRID(ST_MakePoint(%s, %s), 4326), 0)",
                (bytes([n]), ctype, otype, operator, direction, mount, lon, lat))
        ids = [r[0] for r in conn.execute("SELECT id FROM report_queue ORDER BY id")]

    async def approve() -> None:
        eng = report_queue.engine(url, DatabaseSettings())
        for i in ids:
            assert await report_queue.approve(eng, i, ReportSettings()) is not None
        await eng.dispose()

    asyncio.run(approve())


def test_osm_export_is_read_back_by_osmium(empty_db: str, tmp_path: Path) -> None:
    approve_all(empty_db)
    out = tmp_path / "reports.osm"
    result = run_cli("export", "reports", "--format", "osm", "-o", str(out))
    assert "wrote 2 approved reports" in result.stdout
    nodes = [(n.id, round(n.location.lat, 4), round(n.location.lon, 4), dict(n.tags))
             for n in osmium.FileProcessor(str(out)) if n.is_node()]
    assert [(i, lat, lon) for i, lat, lon, _ in nodes] == [(-1, 60.1701, 24.9402),
                                                          (-2, 60.1705, 24.941)]
    alpr, dome = nodes[0][3], nodes[1][3]
    assert alpr == {"man_made": "surveillance", "surveillance": "public",
                    "surveillance:type": "ALPR", "camera:type": "fixed",
                    "surveillance:zone": "traffic", "camera:direction": "45",
                    "camera:mount": "pole", "operator": "Flock Safety", "operator:type": "public",
                    "manufacturer": "Flock Safety", "source": "survey"}
    assert dome["surveillance:type"] == "camera" and dome["camera:type"] == "dome"
    assert dome["camera:direction"] == "270" and dome["operator:type"] == "private"
    # New objects for JOSM: negative ids, action="modify", no version (never uploaded).
    text = out.read_text(encoding="utf-8")
    assert text.count('action="modify"') == 2 and "version=\"1\"" not in text
    assert "doorbell" not in text and "60.1712" not in text  # the private camera stays home
