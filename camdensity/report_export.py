"""`camdensity export reports --format osm`: approved reports as OSM XML for JOSM, so
contributions can flow back to OpenStreetMap (private/residential cameras excluded)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg

from camdensity import __version__, sql

# The camera vocabulary in OSM's surveillance tagging.
SURVEILLANCE_TYPE = {"alpr": "ALPR", "gunshot": "gunshot_detector"}
CAMERA_TYPE = {"cctv": "fixed", "dome": "dome", "ptz": "panning", "doorbell": "doorbell",
               "traffic": "fixed", "speed": "fixed", "alpr": "fixed"}
ZONE = {"traffic": "traffic", "speed": "traffic", "alpr": "traffic"}
OPERATOR_TYPE = {"public": "public", "business": "private"}


def osm_tags(row: dict[str, Any]) -> dict[str, str]:
    """The OSM tags of one approved report (man_made=surveillance and its refinements)."""
    ctype = row["camera_type"]
    tags = {
        "man_made": "surveillance",
        # Reported from the street: a camera watching public space.
        "surveillance": "public",
        "surveillance:type": SURVEILLANCE_TYPE.get(ctype, "camera"),
    }
    if ctype in CAMERA_TYPE and ctype != "gunshot":
        tags["camera:type"] = CAMERA_TYPE[ctype]
    if ctype in ZONE:
        tags["surveillance:zone"] = ZONE[ctype]
    if ctype == "speed":
        tags["highway"] = "speed_camera"
    if row["direction_deg"] is not None:
        tags["camera:direction"] = f"{row['direction_deg']:g}"
    if row["mount"] and row["mount"] != "other":
        tags["camera:mount"] = row["mount"]
    if row["operator"]:
        tags["operator"] = row["operator"]
    if row["operator_type"] in OPERATOR_TYPE:
        tags["operator:type"] = OPERATOR_TYPE[row["operator_type"]]
    if row["manufacturer"]:
        tags["manufacturer"] = row["manufacturer"]
    tags["source"] = "survey"
    return tags


def osm_xml(rows: Iterable[dict[str, Any]]) -> ET.ElementTree:
    """An OSM 0.6 document of new nodes (negative ids, action="modify", as JOSM writes new
    objects; no version: they have never been uploaded)."""
    root = ET.Element("osm", version="0.6", generator=f"camdensity {__version__}")
    for n, row in enumerate(rows, 1):
        node = ET.SubElement(root, "node", id=str(-n), action="modify", visible="true",
                             lat=f"{row['lat']:.7f}", lon=f"{row['lon']:.7f}")
        for key, value in osm_tags(row).items():
            ET.SubElement(node, "tag", k=key, v=value)
    ET.indent(root)
    return ET.ElementTree(root)


def export_reports_osm(url: str, output: Path) -> int:
    """Write the approved non-private reports to `output` as OSM XML; returns how many."""
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute(sql.query("report_export_osm")).fetchall()
    partial = output.with_name(output.name + ".partial")
    osm_xml(rows).write(partial, encoding="UTF-8", xml_declaration=True)
    partial.replace(output)
    return len(rows)
