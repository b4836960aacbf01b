"""Tiles of the current data version: from the LRU when cached, else one constant query to PostGIS."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass

import psycopg
from psycopg import AsyncConnection, AsyncRawCursor
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from camdensity import sql
from camdensity.settings import MethodSettings, ServiceSettings, evidence_settings
from camdensity.tiles.cache import LRU, SnapshotCache
from camdensity.tiles.filters import TileFilters
from camdensity.tiles.grid import resolution_for_zoom


@dataclass(frozen=True)
class Tile:
    """A tile gzipped once when rendered (b'' when empty) and the data version it was read from.

    Cached as gzip: a client that accepts gzip (every browser) gets these very bytes, so a cached
    tile is never compressed again; `data` decompresses for the rare client that does not.
    """

    snapshot: str
    gzipped: bytes

    @property
    def data(self) -> bytes:
        """The MVT bytes (b'' for an empty tile)."""
        return gzip.decompress(self.gzipped) if self.gzipped else b""


def gzip_tile(data: bytes) -> bytes:
    """`data` gzipped (level 6, no timestamp: the same tile gives the same bytes), b'' if empty."""
    return gzip.compress(data, compresslevel=6, mtime=0) if data else b""


@dataclass(frozen=True)
class Extent:
    """The data's bounding box in degrees (west, south, east, north), and where it is busiest."""

    west: float
    south: float
    east: float
    north: float
    # Centre of the coarsest cell holding the most cameras: data in two cities (Helsinki and
    # the US West in the demo) has its box's middle in the ocean; this is worth looking at.
    focus_lon: float | None = None
    focus_lat: float | None = None

    @property
    def center(self) -> tuple[float, float]:
        """(lon, lat) to open a map at: the busiest cell, else the box's middle."""
        if self.focus_lon is not None and self.focus_lat is not None:
            return self.focus_lon, self.focus_lat
        return (self.west + self.east) / 2, (self.south + self.north) / 2


async def render_tile(
    conn: AsyncConnection, z: int, x: int, y: int, resolution: int, filters: TileFilters,
    near_radius_m: float, fov_min_zoom: int | None = None,
) -> tuple[str | None, bytes]:
    """(snapshot read, MVT bytes; b'' when empty) of tile z/x/y drawing H3 `resolution`: the one
    renderer behind /tiles and `camdensity publish`."""
    # A raw cursor sends the $n text as is (Martin-style), prepared after first use.
    cur = AsyncRawCursor(conn)
    if filters.compare is not None:  # the change since that build (totals only)
        await cur.execute(sql.query("tile_compare_mvt"),
                          (z, x, y, resolution, filters.compare), binary=True)
    else:
        fov_zoom = evidence_settings().fov_min_zoom if fov_min_zoom is None else fov_min_zoom
        await cur.execute(
            sql.query("tile_mvt"),
            (z, x, y, resolution, *filters.sql_params(), near_radius_m, fov_zoom),
            binary=True,
        )
    read_snapshot, data = await cur.fetchone()
    return read_snapshot, bytes(data or b"")


class TileSource:
    """One per app: the snapshot cache and what depends on it (tiles, extent, map pages)."""

    def __init__(self, service: ServiceSettings, method: MethodSettings) -> None:
        self.tiles = LRU(service.tile_cache_size)
        self.extents = LRU(4)
        self.pages = LRU(service.map_cache_size)  # generated /map pages (service.routes.map)
        self.snapshots = SnapshotCache(
            service.snapshot_ttl_s, self.tiles, self.extents, self.pages
        )
        self.zoom_resolutions = dict(service.tile_zoom_resolutions)
        self.near_radius_m = method.near_site_radius_m
        self.fov_min_zoom = evidence_settings().fov_min_zoom
        # Settings that shape a tile belong in its ETag: changing them must not reuse old tiles.
        self.config = hashlib.blake2b(
            repr((sorted(self.zoom_resolutions.items()), self.near_radius_m,
                  self.fov_min_zoom)).encode(),
            digest_size=4,
        ).hexdigest()

    def etag(self, snapshot: str, filters: TileFilters) -> str:
        """Strong ETag of every tile of this data version, filters and tile settings."""
        return f'"{snapshot}-{filters.digest()}-{self.config}"'

    async def tile(
        self, pool: AsyncConnectionPool, snapshot: str, z: int, x: int, y: int, filters: TileFilters
    ) -> Tile:
        """The tile z/x/y under `filters`; `snapshot` is the version believed current."""
        key = (snapshot, z, x, y, filters)
        cached = self.tiles.get(key)
        if isinstance(cached, bytes):
            return Tile(snapshot, cached)
        self.snapshots.check_store()
        try:
            async with pool.connection() as conn:
                read_snapshot, data = await render_tile(
                    conn, z, x, y, resolution_for_zoom(z, self.zoom_resolutions), filters,
                    self.near_radius_m, self.fov_min_zoom,
                )
        except (psycopg.OperationalError, PoolTimeout):
            self.snapshots.failed()  # the next request answers 503 without waiting again
            raise
        # The query read the snapshot in the same statement as the cells: cache under that one.
        self.snapshots.observe(read_snapshot)
        gzipped = gzip_tile(data)
        self.tiles.put((read_snapshot, z, x, y, filters), gzipped)
        return Tile(read_snapshot, gzipped)

    async def extent(self, pool: AsyncConnectionPool, snapshot: str) -> Extent | None:
        """The hexagons' extent in this data version (None when there are no hexagons)."""
        cached = self.extents.get(snapshot)
        if isinstance(cached, Extent):
            return cached
        self.snapshots.check_store()
        async with pool.connection() as conn:
            cur = await conn.execute(sql.query("tile_extent"))
            row = await cur.fetchone()
        if row is None:
            return None
        extent = Extent(*row)
        self.extents.put(snapshot, extent)
        return extent
