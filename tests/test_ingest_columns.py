"""Cells checked a column at a time (ingest/columns.py) give what the per-cell functions give."""

from __future__ import annotations

import json
import random

import orjson

from camdensity.ingest import columns as col
from camdensity.ingest.values import parse_count, parse_point

FIELDS = ["", " ", "a", " a ", "\u3000x\u00a0", "\u2028", "\u180ey", "é ", "\t\n", "x\u200by"]


def test_whitespace_is_what_str_strip_removes():
    assert set(col.WHITESPACE) == {c for c in map(chr, range(0x110000)) if c.isspace()}


def test_stripped_and_blank_match_python():
    column = col.strings(FIELDS)
    assert col.stripped(column).to_pylist() == [f.strip() for f in FIELDS]
    assert col.stripped_or_null(column).to_pylist() == [f.strip() or None for f in FIELDS]
    assert col.blank(column).tolist() == [not f.strip() for f in FIELDS]


def test_coordinates_sure_only_where_parse_point_agrees():
    rng = random.Random(7)
    texts = [f"{rng.uniform(-95, 95):.{rng.randint(0, 17)}f}" for _ in range(5000)]
    texts += ["", " 1.5", "1,5", "1e1", "+1", "90", "-90.0000000001", "90.00000000000000001",
              "007.25", "-0", "1.", ".5", "nan", "inf", "١٢"]
    sure, values = col.coordinates(col.strings(texts), 90.0)
    for text, ok, value in zip(texts, sure, values):
        if ok:  # the others are left to parse_point
            parsed = parse_point(text, "0")
            assert not isinstance(parsed, str) and parsed[0] == value, text
    in_range = [abs(float(t)) <= 90 for t in texts[:5000]]
    assert sure[:5000].tolist() == in_range  # a plain decimal is read at once
    # "90.00000000000000001" is 90.0 to float() too.
    assert [t for t, ok in zip(texts[5000:], sure[5000:]) if ok] == [
        "90", "90.00000000000000001", "007.25", "-0"]


def test_counts_sure_only_where_parse_count_agrees():
    texts = ["0", "1", "007", "500", "501", "999999999", "1.0", " 2", "-1", "", "x"]
    sure, values = col.counts(col.strings(texts), 500)
    for text, ok, value in zip(texts, sure, values):
        if ok:
            assert parse_count(text) == value
    assert sure.tolist() == [True, True, True, True, False, False, False, False, False, False,
                             False]


def test_json_objects_read_as_the_dicts_orjson_writes():
    header = ["id", "name", "id", "é:x"]
    rows = [["1", "a", "", "z"], ["2", " ", "3", "\u3000"], ["4", 'say "hi"', "5", "x"],
            ["6", "tab\there", "7", "\\"], ["8", "ünï", "9", "\u2028"]]
    objects, sure = col.json_objects(header, [col.strings(c) for c in zip(*rows)])
    assert sure.tolist() == [True, True, False, False, True]
    for row, text, ok in zip(rows, objects.to_pylist(), sure):
        if ok:  # a repeated name keeps its last value, as jsonb reads it
            expected = orjson.loads(orjson.dumps({h: v for h, v in zip(header, row) if v.strip()}))
            assert json.loads(text) == expected
