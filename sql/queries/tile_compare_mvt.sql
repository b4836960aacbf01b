-- One change tile: layer `hexagons` with each cell's shown camera count now and in the build
-- whose snapshot id is $5 (hexagon_history), and the change; cells shown in either build, drawn
-- from hexagon_shape (so a cell emptied since is drawn too). Totals only: the type and operator
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
    SELECT h.h3, h.cameras FROM hexagon h, bounds b
    WHERE h.resolution = $4 AND h.geom_3857 && b.wide
),
then_cells AS (
    SELECT hh.h3, hh.cameras FROM hexagon_history hh
    WHERE hh.build_id = (SELECT id FROM then_build) AND hh.resolution = $4
),
cells AS (
    SELECT coalesce(n.h3, t.h3) AS h3, coalesce(n.cameras, 0) AS cameras,
           coalesce(t.cameras, 0) AS cameras_before
    FROM now_cells n
    FULL JOIN (SELECT t.* FROM then_cells t JOIN hexagon_shape s
               ON s.resolution = $4 AND s.h3 = t.h3, bounds b WHERE s.geom_3857 && b.wide) t
         ON t.h3 = n.h3
),
hexagons AS (
    SELECT ST_AsMVTGeom(s.geom_3857, b.tile, 4096, 64, true) AS geom,
           to_hex(c.h3) AS h3, $4::int AS resolution, c.cameras, c.cameras_before,
           c.cameras - c.cameras_before AS change
    FROM cells c
    JOIN hexagon_shape s ON s.resolution = $4 AND s.h3 = c.h3
    CROSS JOIN bounds b
)
SELECT
    (SELECT snapshot FROM build WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1),
    (SELECT ST_AsMVT(hexagons, 'hexagons', 4096, 'geom') FROM hexagons WHERE geom IS NOT NULL)
