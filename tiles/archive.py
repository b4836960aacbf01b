"""PMTiles v3 archives of exactly the tiles `/tiles/{z}/{x}/{y}.mvt` serves, for static hosting.

The tiles that may hold a feature are listed set-based in PostGIS (sql/queries/publish_tiles.sql),
rendered by the service's own renderer (`render_tile`) over several connections, gzipped and
written in tile-id order by the `pmtiles` package's writer (which deduplicates identical tiles).
A tile whose content key equals the previous archive's is copied from it instead of rendered.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pmtiles.reader import MmapSource, all_tiles
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from psycopg import AsyncConnection, AsyncRawCursor
from psycopg_pool import AsyncConnectionPool

from camdensity import __version__, sql
from camdensity.service.snapshot import Snapshot, current_snapshot
from camdensity.settings import method_settings, service_settings
from camdensity.tiles.filters import TileFilters
from camdensity.tiles.grid import MAX_ZOOM, resolution_for_zoom
from camdensity.tiles.source import Extent, TileSource, gzip_tile, render_tile
from camdensity.tiles.tilejson import default_zoom, tilejson

MERCATOR_MAX_LAT = 85.0511287798066


class ArchiveError(Exception):
    """An archive that cannot be written as asked; the message says why."""


@dataclass(frozen=True)
class ArchiveRequest:
    """Which tiles: filters, zoom range and an optional lon/lat box."""

    filters: TileFilters = field(default_factory=TileFilters)
    minzoom: int = 0
    maxzoom: int = 14
    bbox: tuple[float, float, float, float] | None = None

    def grid_tiles(self) -> int:
        """Tiles of the grid in the box at the zooms asked for (an upper bound on the archive)."""
        total = 0
        for z in range(self.minzoom, self.maxzoom + 1):
            x0, x1, y0, y1 = tile_range(z, self.bbox)
            total += (x1 - x0 + 1) * (y1 - y0 + 1)
        return total

    def check(self) -> None:
        """Raise ArchiveError unless 0 <= minzoom <= maxzoom <= MAX_ZOOM."""
        if not 0 <= self.minzoom <= self.maxzoom <= MAX_ZOOM:
            raise ArchiveError(
                f"zooms must satisfy 0 <= minzoom <= maxzoom <= {MAX_ZOOM}; "
                f"got {self.minzoom}..{self.maxzoom}"
            )


@dataclass
class ArchiveResult:
    """What was written: data version, counts, size and time."""

    snapshot: Snapshot
    extent: Extent | None
    tiles: int = 0  # tiles in the archive (non-empty)
    contents: int = 0  # distinct tile contents stored (after deduplication)
    rendered: int = 0  # tiles rendered by PostGIS this time
    reused: int = 0  # tiles copied unchanged from the previous archive
    empty: int = 0  # candidate tiles that drew nothing (left out)
    size: int = 0  # archive bytes
    seconds: float = 0.0
    keys: dict[int, str] = field(default_factory=dict)  # candidate tile id -> content key

    @property
    def tiles_per_s(self) -> float:
        return self.tiles / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Previous:
    """The archive published before, for an incremental publish: its file and content keys."""

    path: Path
    keys: dict[int, str]


def tile_range(z: int, bbox: tuple[float, float, float, float] | None) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1) of the tiles of zoom z meeting `bbox` (lon/lat; None: the whole grid)."""
    last = (1 << z) - 1
    if bbox is None:
        return 0, last, 0, last

    def x_of(lon: float) -> int:
        return min(last, max(0, math.floor((lon + 180) / 360 * (1 << z))))

    def y_of(lat: float) -> int:
        lat = max(-MERCATOR_MAX_LAT, min(MERCATOR_MAX_LAT, lat))
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * (1 << z)
        return min(last, max(0, math.floor(y)))

    west, south, east, north = bbox
    return x_of(west), x_of(east), y_of(north), y_of(south)


def config_digest(source: TileSource, filters: TileFilters) -> str:
    """What shapes every tile besides the data: renderer SQL, zoom table, near radius, filters."""
    parts = (sql.query("tile_mvt"), sql.query("publish_tiles"), source.config, filters.digest(),
             __version__)
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


async def plan_tiles(
    conn: AsyncConnection, source: TileSource, request: ArchiveRequest
) -> tuple[Snapshot, list[tuple[int, int, int, int, str]]]:
    """The data version and (tile id, z, x, y, key) of every candidate tile, in tile-id order,
    read in one repeatable-read snapshot."""
    filters = request.filters
    plan: list[tuple[int, int, int, int, str]] = []
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        # generate_series is costed at 1000 rows a call, so the planner JIT-compiles a query that
        # runs in milliseconds: 1-2 s of compiling per zoom.
        await conn.execute("SET LOCAL jit = off")
        snapshot = await current_snapshot(conn)
        if snapshot is None:
            raise ArchiveError("no finished build yet: run `camdensity build` first")
        for z in range(request.minzoom, request.maxzoom + 1):
            resolution = resolution_for_zoom(z, source.zoom_resolutions)
            x0, x1, y0, y1 = tile_range(z, request.bbox)
            cur = AsyncRawCursor(conn)  # $n placeholders, as tile_mvt.sql
            await cur.execute(
                sql.query("publish_tiles"),
                (z, resolution, x0, x1, y0, y1, filters.sql_params()[3], filters.counts_filtered),
            )
            plan += [(zxy_to_tileid(z, x, y), z, x, y, key) for x, y, key in await cur.fetchall()]
    plan.sort()
    return snapshot, plan


def _previous_tiles(previous: Previous | None) -> Iterator[tuple[int, bytes]]:
    """(tile id, stored bytes) of the previous archive in tile-id order (nothing without one)."""
    if previous is None or not previous.path.is_file():
        return
    with previous.path.open("rb") as fh:
        get_bytes = MmapSource(fh)
        for (z, x, y), data in all_tiles(get_bytes):
            yield zxy_to_tileid(z, x, y), data


def header(request: ArchiveRequest, extent: Extent | None, center_zoom: int) -> dict[str, Any]:
    """The PMTiles header fields we set (the writer fills offsets, counts and zooms)."""
    west, south, east, north = (
        (extent.west, extent.south, extent.east, extent.north) if extent else (-180, -85, 180, 85)
    )
    if request.bbox:
        west, south = max(west, request.bbox[0]), max(south, request.bbox[1])
        east, north = min(east, request.bbox[2]), min(north, request.bbox[3])
    lon, lat = extent.center if extent else ((west + east) / 2, (south + north) / 2)
    if request.bbox and not (west <= lon <= east and south <= lat <= north):
        lon, lat = (west + east) / 2, (south + north) / 2

    def e7(v: float) -> int:
        return round(v * 10_000_000)

    return {
        "tile_type": TileType.MVT,
        "tile_compression": Compression.GZIP,
        "min_lon_e7": e7(west), "min_lat_e7": e7(south),
        "max_lon_e7": e7(east), "max_lat_e7": e7(north),
        "center_zoom": max(request.minzoom, min(request.maxzoom, center_zoom)),
        "center_lon_e7": e7(lon), "center_lat_e7": e7(lat),
    }


def metadata(
    request: ArchiveRequest, snapshot: Snapshot, extent: Extent | None, source: TileSource,
    tiles_url: str,
) -> dict[str, Any]:
    """The archive's JSON metadata: the TileJSON fields, plus provenance under `camdensity`."""
    doc = tilejson(tiles_url, snapshot.snapshot, snapshot.sources, extent, request.maxzoom)
    doc["minzoom"] = request.minzoom
    doc["camdensity"] = {
        "snapshot": snapshot.snapshot,
        "built_at": snapshot.built_at.isoformat(),
        "sources": snapshot.sources,
        "params": snapshot.params,
        "data_dates": sorted({str(s["data_date"])[:10] for s in snapshot.sources
                              if s.get("data_date")}),
        "filters": {"types": request.filters.types, "operators": request.filters.operators,
                    "categories": request.filters.categories},
        "bbox": list(request.bbox) if request.bbox else None,
        "zoom_resolutions": {str(k): v for k, v in sorted(source.zoom_resolutions.items())},
        "near_site_radius_m": source.near_radius_m,
        "version": __version__,
    }
    return doc


class TooManyTiles(ArchiveError):
    """A box spanning more tiles than a limit allows (the HTTP export's)."""


async def write_archive(
    url: str,
    out: BinaryIO,
    request: ArchiveRequest,
    *,
    workers: int = 4,
    **options: Any,
) -> ArchiveResult:
    """`write_archive_with` over a pool of `workers` connections of its own to `url`."""
    async with AsyncConnectionPool(
        url, min_size=max(1, workers), max_size=max(1, workers),
        kwargs={"autocommit": True, "prepare_threshold": 1}, open=False,
    ) as pool:
        await pool.wait(timeout=30)
        return await write_archive_with(pool, out, request, workers=workers, **options)


async def write_archive_with(
    pool: AsyncConnectionPool,
    out: BinaryIO,
    request: ArchiveRequest,
    *,
    workers: int = 4,
    previous: Previous | None = None,
    tiles_url: str = "tiles.pmtiles",
    max_tiles: int | None = None,
    limit_name: str = "",
    on_plan: Callable[[int], None] = lambda total: None,
    on_tile: Callable[[], None] = lambda: None,
) -> ArchiveResult:
    """Write the archive to `out`: `workers` tiles rendered at once, written in tile-id order.
    A box spanning more than `max_tiles` tiles raises TooManyTiles naming `limit_name`."""
    request.check()
    started = time.perf_counter()
    source = TileSource(service_settings(), method_settings())
    window = max(1, workers) * 8  # tiles in flight: bounded memory, workers kept busy
    if max_tiles is not None and (grid := request.grid_tiles()) > max_tiles:
        raise TooManyTiles(
            f"the box spans {grid:,} tiles at zooms {request.minzoom}-{request.maxzoom}, more "
            f"than {limit_name} ({max_tiles:,}): narrow the bbox or the zooms, or use "
            "`camdensity publish`"
        )
    async with pool.connection() as conn:
        snapshot, plan = await plan_tiles(conn, source, request)
    extent = await source.extent(pool, snapshot.snapshot)
    on_plan(len(plan))
    result = ArchiveResult(snapshot=snapshot, extent=extent)
    if not plan:
        raise ArchiveError("nothing to publish: no hexagon or site in the box and zooms asked for")

    async def render(z: int, x: int, y: int) -> bytes:
        async with pool.connection() as conn:
            read, data = await render_tile(
                conn, z, x, y, resolution_for_zoom(z, source.zoom_resolutions),
                request.filters, source.near_radius_m,
            )
        if read != snapshot.snapshot:
            raise ArchiveError(
                f"the data version changed from {snapshot.snapshot} to {read} while "
                "publishing; publish again"
            )
        # The same bytes as the live tile cache holds, so deduplication finds equal tiles.
        return gzip_tile(data)

    writer = Writer(out)
    old = _previous_tiles(previous)
    old_tile = next(old, None)
    pending: deque[tuple[int, str, asyncio.Task[bytes] | bytes]] = deque()

    def flush_ready(data: bytes, tile_id: int, key: str) -> None:
        result.keys[tile_id] = key  # empty ones too: not rendered again while unchanged
        if data:
            writer.write_tile(tile_id, data)
            result.tiles += 1
        else:
            result.empty += 1
        on_tile()

    async def flush_one() -> None:
        tile_id, key, item = pending.popleft()
        flush_ready(item if isinstance(item, bytes) else await item, tile_id, key)

    try:
        for tile_id, z, x, y, key in plan:
            while old_tile is not None and old_tile[0] < tile_id:
                old_tile = next(old, None)
            if previous is not None and previous.keys.get(tile_id) == key:
                # Unchanged: its bytes from the old archive, or still empty (not in it).
                same = old_tile is not None and old_tile[0] == tile_id
                pending.append((tile_id, key, old_tile[1] if same else b""))
                result.reused += 1
            else:
                pending.append((tile_id, key, asyncio.ensure_future(render(z, x, y))))
                result.rendered += 1
            while len(pending) > window:
                await flush_one()
        while pending:
            await flush_one()
    except BaseException:
        for _, _, item in pending:
            if isinstance(item, asyncio.Task):
                item.cancel()
        raise
    finally:
        old.close()
    if not result.tiles:
        raise ArchiveError("nothing to publish: every tile in the box and zooms asked for is empty")
    center_zoom = default_zoom(extent) if extent else request.minzoom
    writer.finalize(header(request, extent, center_zoom),
                    metadata(request, snapshot, extent, source, tiles_url))
    result.contents = len(writer.hash_to_offset)
    result.seconds = time.perf_counter() - started
    return result
