"""Tile filters (camera types, operators, site categories) parsed from comma lists and validated."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from camdensity.settings import CAMERA_TYPES, OPERATOR_TYPES, SITE_CATEGORIES

# A snapshot id as builds write them ("12-3f9a0c1b2d"); anything else cannot name a build.
_SNAPSHOT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class FilterError(ValueError):
    """A filter value outside its vocabulary (the service answers 422 with this message)."""


def _parse(name: str, raw: str | None, allowed: tuple[str, ...]) -> tuple[str, ...] | None:
    """Sorted, de-duplicated values of a comma list; None when absent or blank (no filter)."""
    if raw is None:
        return None
    values = sorted({v.strip().lower() for v in raw.split(",") if v.strip()})
    if not values:
        return None
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise FilterError(
            f"unknown {name}: {', '.join(unknown)}; allowed: {', '.join(allowed)}"
        )
    return tuple(values)


@dataclass(frozen=True)
class TileFilters:
    """Which cameras are counted and which sites are drawn; None means no filter."""

    types: tuple[str, ...] | None = None
    operators: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    # A snapshot id: hexagons carry their change since that build (totals only).
    compare: str | None = None

    @classmethod
    def parse(
        cls, types: str | None, operators: str | None, categories: str | None,
        compare: str | None = None,
    ) -> TileFilters:
        """Validate the three comma lists and `compare`; raise FilterError naming the bad values."""
        filters = cls(
            _parse("camera types", types, CAMERA_TYPES),
            _parse("operators", operators, OPERATOR_TYPES),
            _parse("site categories", categories, SITE_CATEGORIES),
            compare.strip() if compare and compare.strip() else None,
        )
        if filters.compare is not None:
            if not _SNAPSHOT.fullmatch(filters.compare):
                raise FilterError(f"compare must be a snapshot id such as 12-3f9a0c1b2d, "
                                  f"got {filters.compare[:70]!r}")
            if filters.counts_filtered:
                raise FilterError("compare maps total counts only: it cannot be combined with "
                                  "types or operators")
        return filters

    @property
    def counts_filtered(self) -> bool:
        """Whether camera counts must come from the type x operator breakdown."""
        return self.types is not None or self.operators is not None

    def sql_params(self) -> tuple[bool, list[str], list[str], list[str] | None]:
        """($5 filtered, $6 types, $7 operators, $8 categories) of tile_mvt.sql."""
        return (
            self.counts_filtered,
            list(self.types or CAMERA_TYPES),
            list(self.operators or OPERATOR_TYPES),
            list(self.categories) if self.categories is not None else None,
        )

    def query_string(self) -> str:
        """The filters as a canonical query string ('' when none), for URLs built from them."""
        pairs = [
            (name, ",".join(values))
            for name, values in (
                ("types", self.types), ("operators", self.operators), ("categories", self.categories)
            )
            if values is not None
        ]
        if self.compare is not None:
            pairs.append(("compare", self.compare))
        return urlencode(pairs, safe=",")

    def add_to(self, url: str) -> str:
        """`url` with the filters as its query string."""
        query = self.query_string()
        return f"{url}?{query}" if query else url

    def digest(self) -> str:
        """A short stable hash of the filters (part of ETags and cache keys)."""
        return hashlib.blake2b(repr(self).encode(), digest_size=6).hexdigest()
