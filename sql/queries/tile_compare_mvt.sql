-- One change tile: layer `hexagons` with each cell's shown camera count now and in the build
-- whose snapshot id is $5 (hexagon_history), and the change; cells shown in either build. A
-- cell on the map now is drawn from hexagon, one shown then and not now from hexagon_shape
-- (which keeps the polygons of cells that left the map). Totals only: the type and operator
-- filters do not apply here. $1 z, $2 x, $3 y, $4 H3 resolution, $5 snapshot compared with.
-- Returns the snapshot read, like tile_mvt.sql.
WITH bounds AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS tile,
           ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096) AS wide
),
then_build AS (
    SELECT id FROM build WHERE snapshot = $5 AND finished_at IS NOT NULL AND pruned_at IS NULL
),
now_cells AS (
    SELECT h.h3, h.cameras, h.geom_3857 FROM hexagon h, bounds b
    WHERE h.resolution = $4 AND h.geom_3857 && b.wide
),
cells AS (
    SELECT n.h3, n.cameras, coalesce(t.cameras, 0) AS cameras_before, n.geom_3857
    FROM now_cells n
    LEFT JOIN hexagon_history t
           ON t.build_id = (SELECT id FROM then_build) AND t.resolution = $4 AND t.h3 = n.h3
    UNION ALL
    SELECT s.h3, 0, t.cameras, s.geom_3857
    FROM hexagon_shape s
    CROSS JOIN bounds b
    JOIN hexagon_history t
      ON t.build_id = (SELECT id FROM then_build) AND t.resolution = $4 AND t.h3 = s.h3
    WHERE s.resolution = $4 AND s.geom_3857 && b.wide
      AND NOT EXISTS (SELECT 1 FROM hexagon h WHERE h.resolution = $4 AND h.h3 = s.h3)
),
hexagons AS (
    SELECT ST_AsMVTGeom(c.geom_3857, b.tile, 4096, 64, true) AS geom,
           to_hex(c.h3) AS h3, $4::int AS resolution, c.cameras, c.cameras_before,
           c.cameras - c.cameras_before AS change
    FROM cells c
    CROSS JOIN bounds b
)
SELECT
    (SELECT snapshot FROM build WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1),
    (SELECT ST_AsMVT(hexagons, 'hexagons', 4096, 'geom') FROM hexagons WHERE geom IS NOT NULL)
