-- Each site's exposure, from the published cameras (ingest/privacy.py: a private aggregate
-- stands at its cell's centre and counts as one disc). Counts are devices (count) within
-- 50/100/200/500 m of the site's geometry; by_type / by_operator give them per radius
-- ({"200": {"cctv": 3}, ...}).
-- effective_cameras (Amnesty's method): the area of the union of disc_m discs around the cameras,
-- inside the site's buffer_m buffer, divided by the area of one disc; a camera counts once
-- whatever its count, and overlapping discs are not double-counted. The geometry is done in the
-- site's UTM zone (metres; scale error under 0.1 per cent), and the disc area is that of the same
-- polygonised disc, so one camera wholly inside counts exactly 1.
-- Parameters: radii, disc_m, buffer_m.
INSERT INTO site_exposure (site_id, cameras_50m, cameras_100m, cameras_200m, cameras_500m,
                           by_type, by_operator, effective_cameras)
WITH counts AS (
    SELECT n.site_id,
           sum(c.count) FILTER (WHERE n.dist <= 50) AS c50,
           sum(c.count) FILTER (WHERE n.dist <= 100) AS c100,
           sum(c.count) FILTER (WHERE n.dist <= 200) AS c200,
           sum(c.count) FILTER (WHERE n.dist <= 500) AS c500
    FROM _near n JOIN camera_published c ON c.id = n.camera_id
    GROUP BY n.site_id
),
per_key AS (
    -- Devices per radius by type and, in the other grouping set, by operator.
    SELECT n.site_id, r.radius,
           CASE WHEN GROUPING(c.camera_type) = 0 THEN 'type' ELSE 'operator' END AS dim,
           coalesce(c.camera_type, c.operator_type) AS key, sum(c.count) AS cameras
    FROM _near n
    JOIN camera_published c ON c.id = n.camera_id
    JOIN unnest(%(radii)s::integer[]) AS r(radius) ON n.dist <= r.radius
    GROUP BY GROUPING SETS ((n.site_id, r.radius, c.camera_type),
                            (n.site_id, r.radius, c.operator_type))
),
breakdown AS (
    SELECT site_id, dim, jsonb_object_agg(radius::text, keys) AS j
    FROM (SELECT site_id, dim, radius, jsonb_object_agg(key, cameras) AS keys
          FROM per_key GROUP BY site_id, dim, radius) x
    GROUP BY site_id, dim
),
zone AS (
    SELECT s.id, s.geom,
           CASE WHEN ST_Y(s.centroid) >= 0 THEN 32600 ELSE 32700 END
           + least(60, greatest(1, floor((ST_X(s.centroid) + 180) / 6)::integer + 1)) AS srid
    FROM site s
),
effective AS (
    SELECT z.id AS site_id,
           ST_Area(ST_Intersection(
               ST_Union(ST_Buffer(ST_Transform(c.geom, z.srid), %(disc_m)s, 16)),
               ST_Buffer(ST_Transform(z.geom, z.srid), %(buffer_m)s, 16)))
           / ST_Area(ST_Buffer(ST_MakePoint(0, 0), %(disc_m)s, 16)) AS value
    FROM zone z
    JOIN _near n ON n.site_id = z.id AND n.dist < %(buffer_m)s + %(disc_m)s
    JOIN camera_published c ON c.id = n.camera_id
    GROUP BY z.id, z.geom, z.srid
),
empty AS (
    SELECT coalesce(jsonb_object_agg(r.radius::text, '{}'::jsonb), '{}'::jsonb) AS j
    FROM unnest(%(radii)s::integer[]) AS r(radius)
)
SELECT s.id,
       coalesce(k.c50, 0), coalesce(k.c100, 0), coalesce(k.c200, 0), coalesce(k.c500, 0),
       empty.j || coalesce(t.j, '{}'::jsonb),
       empty.j || coalesce(o.j, '{}'::jsonb),
       coalesce(e.value, 0)
FROM site s
CROSS JOIN empty
LEFT JOIN counts k ON k.site_id = s.id
LEFT JOIN breakdown t ON t.site_id = s.id AND t.dim = 'type'
LEFT JOIN breakdown o ON o.site_id = s.id AND o.dim = 'operator'
LEFT JOIN effective e ON e.site_id = s.id
