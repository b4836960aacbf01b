"""JSON read as a stream with bounded memory: nesting depth and element size are limits.

`ijson.items` keeps a growing prefix string per nesting level and builds whatever it is given,
so 400 KB of `[[[[...` took gigabytes. Here the parser's basic events are walked with a depth
counter (`CAMDENSITY_INGEST_MAX_JSON_DEPTH`, a fatal error past it) and each element of the
wanted list is built only while its text stays under `CAMDENSITY_INGEST_MAX_ELEMENT_CHARS`;
a bigger one is skipped (yielded as TOO_BIG, for the caller to reject) without being held.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson

from camdensity.ingest.errors import IngestError
from camdensity.settings import ingest_settings

TOO_BIG = object()  # stands for an element over the size limit
_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})


def _events(f: BinaryIO, name: str) -> Iterator[tuple[str, Any, int]]:
    """(event, value, depth after the event) with the depth limit enforced."""
    limit = ingest_settings().ingest_max_json_depth
    depth = 0
    for event, value in ijson.basic_parse(f, use_float=True):
        if event in _OPEN:
            depth += 1
            if depth > limit:
                raise IngestError(
                    f"{name}: JSON nested deeper than {limit} levels "
                    "(CAMDENSITY_INGEST_MAX_JSON_DEPTH)")
        elif event in _CLOSE:
            depth -= 1
        yield event, value, depth


def head(f: BinaryIO, name: str) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """(key path, event, value) of the events at the top two levels, deeper ones skipped.

    For sniffing a document's shape (`elements`, `features`, `type`, `osm3s.timestamp...`).
    """
    path: list[str | None] = []
    for event, value, depth in _events(f, name):
        if event in _OPEN:
            path.append(None)
        elif event in _CLOSE:
            path.pop()
        if depth > 2:
            continue
        if event == "map_key" and path:
            path[-1] = value
        keys = tuple(k for k in path if k is not None)
        yield keys, event, value


def items(f: BinaryIO, name: str, key: str | None) -> Iterator[Any]:
    """Each element of the top-level list (`key` None) or of the list under top-level `key`;
    TOO_BIG for an element larger than the limit (skipped, not built)."""
    limit = ingest_settings().ingest_max_element_chars
    level = 1 if key is None else 2  # depth of the wanted list
    current_key: str | None = None
    builder: ijson.ObjectBuilder | None = None
    skipping = False
    size = 0
    in_list = False
    for event, value, depth in _events(f, name):
        if builder is None and not skipping:
            if depth == 1 and event == "map_key":
                current_key = value
                continue
            if event == "start_array" and depth == level and (key is None or current_key == key):
                in_list = True
                continue
            if in_list and event == "end_array" and depth == level - 1:
                in_list = False
                continue
            opens_item = in_list and (
                (event in _OPEN and depth == level + 1)
                or (event not in _CLOSE and event != "map_key" and depth == level))
            if not opens_item:
                continue
            builder, size = ijson.ObjectBuilder(), 0
        size += len(value) if isinstance(value, str) else 1
        if not skipping and size > limit:
            skipping, builder = True, None
        if builder is not None:
            builder.event(event, value)
        if depth == level:  # the element is complete
            yield TOO_BIG if skipping else builder.value  # type: ignore[union-attr]
            builder, skipping = None, False
