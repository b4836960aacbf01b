-- The privacy rule (ingest/privacy.py), applied once per build; every public figure reads its
-- result, camera_published, and never `camera`.
-- Non-private cameras are published as they are. Private ones (staged in _private with their H3
-- cell and its centre) only where at least %(min_private)s points share the cell, as one row per
-- cell and type at the cell's centre: nothing finer than the cell is left to recover, and a
-- cell below the minimum adds nothing anywhere. A type is named only when at least
-- %(min_private)s of the cell's points have it (doorbells are mostly private: a lone one would
-- otherwise stand out by type); the rest are published as 'unknown'. Devices are rounded to a
-- multiple of %(step)s, at least one step (1 keeps them exact).
-- Rows go in a fixed order, so equal inputs give equal rows and ids.
INSERT INTO camera_published (camera_id, camera_type, operator_type, count, points, h3, geom,
                              geom_3857)
WITH cell AS (
    SELECT h3, min(lon) AS lon, min(lat) AS lat
    FROM _private
    GROUP BY h3
    HAVING count(*) >= %(min_private)s
),
typed AS (
    SELECT p.h3, c.camera_type, count(*) AS points, sum(c.count) AS devices
    FROM _private p
    JOIN cell ON cell.h3 = p.h3
    JOIN camera c ON c.id = p.camera_id
    GROUP BY p.h3, c.camera_type
),
grouped AS (
    SELECT h3, CASE WHEN points >= %(min_private)s THEN camera_type ELSE 'unknown' END AS camera_type,
           sum(points) AS points, sum(devices) AS devices
    FROM typed
    GROUP BY 1, 2
),
snapped AS (
    SELECT g.h3, g.camera_type, g.points,
           %(step)s * greatest(1, round(g.devices / %(step)s::numeric)) AS devices,
           ST_SetSRID(ST_MakePoint(cell.lon, cell.lat), 4326) AS geom
    FROM grouped g
    JOIN cell ON cell.h3 = g.h3
)
SELECT camera_id, camera_type, operator_type, count, points, h3, geom, geom_3857
FROM (
    SELECT c.id AS camera_id, c.camera_type, c.operator_type, c.count, 1 AS points,
           NULL::bigint AS h3, c.geom, c.geom_3857, 0 AS part, c.id AS key1, '' AS key2
    FROM camera c
    WHERE c.operator_type <> 'private'
    UNION ALL
    SELECT NULL, s.camera_type, 'private', s.devices::integer, s.points::integer, s.h3, s.geom,
           ST_Transform(s.geom, 3857), 1, s.h3, s.camera_type
    FROM snapped s
) x
ORDER BY part, key1, key2
