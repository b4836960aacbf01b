"""Fields of view: direction tags into sectors, and bearings inside them, against hand-computed cases."""

from __future__ import annotations

import psycopg
import pytest


def sectors(conn: psycopg.Connection, direction: str | None, fov: float = 90) -> list[float] | None:
    return conn.execute("SELECT camdensity_view_sectors(%s, %s)", (direction, fov)).fetchone()[0]


def inside(conn: psycopg.Connection, bearing: float, direction: str, fov: float = 90) -> bool:
    return conn.execute("SELECT camdensity_in_sectors(%s, camdensity_view_sectors(%s, %s))",
                        (bearing, direction, fov)).fetchone()[0]


@pytest.mark.parametrize(("direction", "fov", "expected"), [
    ("75", 90, [30, 120]),
    ("0", 90, [315, 45]),              # wraps through north
    ("N", 90, [315, 45]),
    ("north", 60, [330, 30]),
    ("NE", 90, [0, 90]),
    ("350", 40, [330, 10]),
    ("-45", 90, [270, 0]),             # negative bearings are normalised
    ("400", 90, [355, 85]),
    ("90-180", 90, [90, 180]),         # a range is its own sector, whatever the cone
    ("315-45", 90, [315, 45]),
    ("E-S", 90, [90, 180]),
    ("45;225", 90, [0, 90, 180, 270]),
    ("45, 135", 30, [30, 60, 120, 150]),
    ("120", 360, [0, 360]),            # an all-round camera
    ("fixed;270", 90, [225, 315]),     # what does not parse is skipped
])
def test_direction_to_sectors(conn: psycopg.Connection, direction: str, fov: float,
                              expected: list[float]) -> None:
    assert sectors(conn, direction, fov) == pytest.approx(expected)


@pytest.mark.parametrize("direction", [None, "", "up", "sky-high", "fixed"])
def test_unknown_direction_has_no_sectors(conn: psycopg.Connection, direction: str | None) -> None:
    assert sectors(conn, direction) is None


@pytest.mark.parametrize(("bearing", "direction", "expected"), [
    (75, "75", True), (30, "75", True), (120, "75", True), (29.9, "75", False),
    (121, "75", False), (255, "75", False),
    (0, "0", True), (359, "0", True), (44, "0", True), (315, "0", True), (46, "0", False),
    (314, "0", False), (180, "0", False),
    (10, "350", True), (36, "350", False), (304, "350", False),  # 90 degrees: 305..35
    (135, "90-180", True), (89, "90-180", False), (181, "90-180", False),
    (0, "315-45", True), (350, "315-45", True), (50, "315-45", False), (180, "315-45", False),
    (200, "45;225", True), (45, "45;225", True), (135, "45;225", False),
])
def test_bearing_in_view(conn: psycopg.Connection, bearing: float, direction: str,
                         expected: bool) -> None:
    assert inside(conn, bearing, direction) is expected
