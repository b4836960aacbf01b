"""Cell values checked a column at a time (pyarrow) instead of one by one.

Each function here answers, for a whole column, what `values.py` answers for one cell, but only
for the cells it can be sure of: a plain decimal coordinate, a plain whole count, a field
without characters JSON must escape. The others are left to the per-cell functions, so a file
gets exactly the same values and the same rejects (with their reasons) either way; the common,
clean rows just never pass through Python one by one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

# The characters Python's str.strip() removes (str.isspace), so a column is stripped exactly as
# `field.strip()` strips one field (tests/test_ingest_columns.py checks the list).
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
              "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# A coordinate as almost every file writes it: float() and the Arrow cast read it identically
# (both round correctly), and it needs none of parse_float's leniency (spaces, decimal comma).
PLAIN_DECIMAL = r"^-?[0-9]{1,3}(\.[0-9]{1,30})?$"
# A count as almost every file writes it (at most 9 digits: it fits an int64 at once).
PLAIN_COUNT = r"^[0-9]{1,9}$"
# What JSON text must escape in a string (the other controls reject their row before).
JSON_ESCAPED = r'["\\\x00-\x1f]'


def strings(values: Sequence[str]) -> pa.Array:
    """A column of fields as a pyarrow string array."""
    return pa.array(values, pa.string())


def stripped(column: pa.Array) -> pa.Array:
    """`field.strip()` of every field."""
    return pc.utf8_trim(column, characters=WHITESPACE)


def stripped_or_null(column: pa.Array) -> pa.Array:
    """`field.strip() or None` of every field (places.csv_field)."""
    column = stripped(column)
    return pc.if_else(pc.equal(pc.utf8_length(column), 0), pa.scalar(None, pa.string()), column)


def blank(column: pa.Array) -> np.ndarray:
    """Whether each field is empty once stripped (`not field.strip()`)."""
    return pc.equal(pc.utf8_length(stripped(column)), 0).to_numpy(zero_copy_only=False)


def coordinates(column: pa.Array, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """(sure, values): the fields that are plain decimals within [-limit, limit], and their
    numbers (what parse_point makes of them; the others are 0 and left to parse_point)."""
    plain = pc.match_substring_regex(column, PLAIN_DECIMAL)
    values = pc.cast(pc.if_else(plain, column, "0"), pa.float64()).to_numpy()
    sure = plain.to_numpy(zero_copy_only=False) & (np.abs(values) <= limit)
    return sure, values


def counts(column: pa.Array, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """(sure, values): the fields that are plain whole numbers up to `limit`, and their values
    (what parse_count makes of them; the others are 0 and left to parse_count)."""
    plain = pc.match_substring_regex(column, PLAIN_COUNT)
    values = pc.cast(pc.if_else(plain, column, "0"), pa.int64()).to_numpy()
    return plain.to_numpy(zero_copy_only=False) & (values <= limit), values


def json_objects(header: Sequence[str], columns: Sequence[pa.Array]) -> tuple[pa.Array, np.ndarray]:
    """(objects, sure): each row's `{name: field}` of its non-blank fields as JSON text (what
    `jsonb({h: v for h, v in zip(header, fields) if v.strip()})` gives, as jsonb reads it: a
    repeated name keeps its last value), and which rows that holds for: a row with a field JSON
    must escape is left to orjson (its text here is wrong)."""
    n = len(columns[0])
    sure = np.ones(n, dtype=bool)
    pieces = []
    for name, column in zip(header, columns):
        key = orjson.dumps(name).decode()
        sure &= ~pc.match_substring_regex(column, JSON_ESCAPED).to_numpy(zero_copy_only=False)
        piece = pc.binary_join_element_wise(f',{key}:"', column, '"', "")
        pieces.append(pc.if_else(pa.array(blank(column)), "", piece))
    body = pc.binary_join_element_wise(*pieces, "")
    # Every row has a non-blank field: drop the first piece's leading comma.
    objects = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(body, 1), "}", "")
    return objects, sure
