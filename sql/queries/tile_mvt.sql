-- One vector tile: layer `hexagons` (H3 cells of one resolution) and layer `sites`, as one MVT.
-- $1 z, $2 x, $3 y (int), $4 H3 resolution (int),
-- $5 filtered (bool): counts come from hexagon_breakdown summed over the selected pairs,
-- $6 camera types (text[]), $7 operator types (text[]) of those pairs (ignored when not $5),
-- $8 site categories (text[]; NULL = all), $9 near-site radius in metres,
-- $10 the zoom from which the `fov` layer (view cones of non-private cameras whose direction is
-- known, camera_fov) is drawn; it follows the type and operator filters.
-- Also returns the snapshot the tile was read under, so a tile is never cached under a version
-- it does not belong to (the build swaps the data and finishes its build row in one commit).
WITH bounds AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS tile,
           -- The 64/4096 margin Martin uses: features just outside still draw across the edge.
           ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096) AS wide
),
hex AS (
    SELECT h.*
    FROM hexagon h, bounds b
    WHERE h.resolution = $4 AND h.geom_3857 && b.wide
),
-- Unfiltered: the precomputed columns. Filtered: the breakdown rows of the selected pairs.
counts AS (
    SELECT h3, cameras, n_cctv, n_doorbell, n_alpr, n_dome, n_ptz, n_traffic, n_speed,
           n_gunshot, n_unknown, op_public, op_business, op_private, op_unknown
    FROM hex
    WHERE NOT $5::boolean
    UNION ALL
    SELECT bd.h3,
           sum(bd.cameras)::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.camera_type = 'cctv'))::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.camera_type = 'doorbell'))::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.camera_type = 'alpr'))::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.camera_type = 'dome'))::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.camera_type = 'ptz'))::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.camera_type = 'traffic'))::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.camera_type = 'speed'))::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.camera_type = 'gunshot'))::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.camera_type = 'unknown'))::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.operator_type = 'public'))::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.operator_type = 'business'))::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.operator_type = 'private'))::bigint,
           (sum(bd.cameras) FILTER (WHERE bd.operator_type = 'unknown'))::bigint
    FROM hexagon_breakdown bd
    JOIN hex ON hex.h3 = bd.h3
    WHERE $5::boolean AND bd.resolution = $4
      AND bd.camera_type = ANY($6::text[]) AND bd.operator_type = ANY($7::text[])
    GROUP BY bd.h3
),
hexagons AS (
    SELECT ST_AsMVTGeom(h.geom_3857, b.tile, 4096, 64, true) AS geom,
           to_hex(h.h3) AS h3,
           h.resolution::int AS resolution,
           c.cameras,
           coalesce(c.n_cctv, 0) AS cctv, coalesce(c.n_doorbell, 0) AS doorbell,
           coalesce(c.n_alpr, 0) AS alpr, coalesce(c.n_dome, 0) AS dome,
           coalesce(c.n_ptz, 0) AS ptz, coalesce(c.n_traffic, 0) AS traffic,
           coalesce(c.n_speed, 0) AS speed, coalesce(c.n_gunshot, 0) AS gunshot,
           coalesce(c.n_unknown, 0) AS unknown,
           coalesce(c.op_public, 0) AS op_public, coalesce(c.op_business, 0) AS op_business,
           coalesce(c.op_private, 0) AS op_private, coalesce(c.op_unknown, 0) AS op_unknown,
           round((c.cameras / h.area_km2)::numeric, 1)::float8 AS density_km2,
           round(h.d_clinic) AS d_clinic,
           round(h.d_school) AS d_school,
           round(h.d_immigration) AS d_immigration,
           coalesce(h.d_clinic < $9, false) AS near_clinic,
           coalesce(h.d_school < $9, false) AS near_school,
           coalesce(h.d_immigration < $9, false) AS near_immigration,
           h.surveyed
    FROM hex h
    JOIN counts c ON c.h3 = h.h3
    CROSS JOIN bounds b
    WHERE c.cameras > 0 OR NOT $5::boolean
),
sites AS (
    SELECT ST_AsMVTGeom(ST_PointOnSurface(s.geom_3857), b.tile, 4096, 64, true) AS geom,
           s.id AS fid,
           s.id,
           s.category,
           s.name,
           e.cameras_200m,
           round(e.effective_cameras::numeric, 2)::float8 AS effective_cameras,
           round(e.percentile_category::numeric, 1)::float8 AS percentile_category
    FROM site s
    CROSS JOIN bounds b
    LEFT JOIN site_exposure e ON e.site_id = s.id
    WHERE s.geom_3857 && b.wide
      AND ($8::text[] IS NULL OR s.category = ANY($8::text[]))
),
fov AS (
    SELECT ST_AsMVTGeom(f.geom_3857, b.tile, 4096, 64, true) AS geom,
           f.camera_type, f.operator_type AS operator
    FROM camera_fov f
    CROSS JOIN bounds b
    WHERE $1 >= $10 AND f.geom_3857 && b.wide
      AND f.camera_type = ANY($6::text[]) AND f.operator_type = ANY($7::text[])
)
SELECT
    (SELECT snapshot FROM build WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1),
    -- Features in a fixed order: the same data gives the same bytes whatever plan or heap order
    -- the rows come in (replicas agree, and a published archive equals the live tiles).
    (SELECT ST_AsMVT(hexagons, 'hexagons', 4096, 'geom' ORDER BY hexagons.h3)
     FROM hexagons WHERE geom IS NOT NULL)
    || (SELECT ST_AsMVT(sites, 'sites', 4096, 'geom', 'fid' ORDER BY sites.id)
        FROM sites WHERE geom IS NOT NULL)
    || (SELECT ST_AsMVT(fov, 'fov', 4096, 'geom' ORDER BY ST_AsBinary(fov.geom), fov.camera_type)
        FROM fov WHERE geom IS NOT NULL);
