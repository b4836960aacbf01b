-- The view cones drawn in the tiles' `fov` layer: for each non-private camera of known direction
-- (camera_view), one wedge per sector, %(radius_m)s metres long, in EPSG:3857 (whose metres
-- are 1/cos(latitude) ground metres, hence the scale), with an arc of 12 segments.
INSERT INTO camera_fov (camera_id, camera_type, operator_type, geom_3857)
SELECT c.id, c.camera_type, c.operator_type,
       ST_MakePolygon(ST_MakeLine(
           ARRAY[c.geom_3857]
           || array_agg(ST_Translate(c.geom_3857,
                  len * sin(radians(w.f + w.width * i / 12.0)),
                  len * cos(radians(w.f + w.width * i / 12.0))) ORDER BY i)
           || ARRAY[c.geom_3857]))
FROM camera c
JOIN camera_view v ON v.camera_id = c.id
CROSS JOIN LATERAL (SELECT %(radius_m)s::float8 / cos(radians(ST_Y(c.geom))) AS len) l
CROSS JOIN LATERAL (
    SELECT k, v.sectors[2 * k - 1] AS f,
           CASE WHEN v.sectors[2 * k] - v.sectors[2 * k - 1] >= 360 THEN 360
                ELSE ((v.sectors[2 * k] - v.sectors[2 * k - 1])::numeric %% 360 + 360) %% 360
           END::float8 AS width
    FROM generate_series(1, array_length(v.sectors, 1) / 2) AS k
) w
CROSS JOIN generate_series(0, 12) AS i
WHERE w.width > 0
GROUP BY c.id, c.camera_type, c.operator_type, c.geom_3857, w.k
