"""camdensity.models describes the store as the migrations made it, and the README's geopandas
example runs against a built store (the session's Helsinki build)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import h3
import psycopg
import pytest

from camdensity import models, testing

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_declared_column_is_in_the_store(helsinki: str) -> None:
    with psycopg.connect(helsinki) as conn:
        actual: dict[str, dict[str, str]] = {}
        for table, column, udt in conn.execute(
                "SELECT table_name, column_name, udt_name FROM information_schema.columns "
                "WHERE table_schema = 'public'"):
            actual.setdefault(table, {})[column] = udt
    for mapper in models.Base.registry.mappers:
        table = mapper.local_table
        assert table.name in actual, table.name
        for column in table.columns:
            assert column.name in actual[table.name], f"{table.name}.{column.name}"
            if actual[table.name][column.name] == "geometry":
                assert type(column.type).__name__ == "Geometry", f"{table.name}.{column.name}"
    declared = {m.local_table.name for m in models.Base.registry.mappers}
    # The private tables are not exposed by default.
    assert not declared & {"camera", "camera_report", "rejected_row"}


def test_readme_reads_hexagons_into_geopandas(helsinki: str) -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- geopandas example[^>]*-->\s*```python\n(.*?)```", text, re.DOTALL)
    assert block, "the README's geopandas example is missing"
    out = io.StringIO()
    scope: dict[str, object] = {}
    with testing.pointed_at(helsinki), contextlib.redirect_stdout(out):
        exec(block.group(1), scope)  # noqa: S102  (the README's own example)
    hexagons = scope["hexagons"]
    with psycopg.connect(helsinki) as conn:
        expected = conn.execute("SELECT count(*), max(density_km2) FROM hexagon "
                                "WHERE resolution = 9").fetchone()
    assert len(hexagons) == expected[0] > 0
    assert hexagons.geometry.iloc[0].geom_type == "Polygon"
    assert hexagons["density_km2"].iloc[0] == pytest.approx(expected[1])
    # h3 is the 64-bit integer the store keeps; its hex string is a valid resolution-9 cell.
    assert h3.get_resolution(h3.int_to_str(int(hexagons["h3"].iloc[0]) % (1 << 64))) == 9
    assert "POLYGON" in out.getvalue()  # what print(hexagons.head()) showed
