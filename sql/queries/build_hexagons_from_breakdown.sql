-- One row per cell of hexagon_breakdown (an incremental build shadows it with the cells it
-- rewrites; ingest/incremental.py): devices by type and operator summed from it, area and
-- density, distance to the nearest site of each category, polygon in 4326 and 3857 (_cell). The
-- same rows as build_hexagons.sql, which a full build makes from the counts it grouped itself.
INSERT INTO hexagon (h3, resolution, cameras,
                     n_cctv, n_doorbell, n_alpr, n_dome, n_ptz, n_traffic, n_speed, n_gunshot,
                     n_unknown, op_public, op_business, op_private, op_unknown,
                     area_km2, density_km2,
                     d_clinic, d_abortion, d_school, d_immigration, d_courthouse, d_worship,
                     d_shelter, geom, geom_3857)
SELECT k.h3, k.resolution, k.cameras,
       k.n_cctv, k.n_doorbell, k.n_alpr, k.n_dome, k.n_ptz, k.n_traffic, k.n_speed, k.n_gunshot,
       k.n_unknown, k.op_public, k.op_business, k.op_private, k.op_unknown,
       cl.area_km2, k.cameras / cl.area_km2,
       d.clinic, d.abortion, d.school, d.immigration, d.courthouse, d.worship, d.shelter,
       g.geom, ST_Transform(g.geom, 3857)
FROM (
    SELECT b.resolution, b.h3, sum(b.cameras) AS cameras,
           coalesce(sum(b.cameras) FILTER (WHERE b.camera_type = 'cctv'), 0) AS n_cctv,
           coalesce(sum(b.cameras) FILTER (WHERE b.camera_type = 'doorbell'), 0) AS n_doorbell,
           coalesce(sum(b.cameras) FILTER (WHERE b.camera_type = 'alpr'), 0) AS n_alpr,
           coalesce(sum(b.cameras) FILTER (WHERE b.camera_type = 'dome'), 0) AS n_dome,
           coalesce(sum(b.cameras) FILTER (WHERE b.camera_type = 'ptz'), 0) AS n_ptz,
           coalesce(sum(b.cameras) FILTER (WHERE b.camera_type = 'traffic'), 0) AS n_traffic,
           coalesce(sum(b.cameras) FILTER (WHERE b.camera_type = 'speed'), 0) AS n_speed,
           coalesce(sum(b.cameras) FILTER (WHERE b.camera_type = 'gunshot'), 0) AS n_gunshot,
           coalesce(sum(b.cameras) FILTER (WHERE b.camera_type NOT IN
               ('cctv', 'doorbell', 'alpr', 'dome', 'ptz', 'traffic', 'speed', 'gunshot')), 0)
               AS n_unknown,
           coalesce(sum(b.cameras) FILTER (WHERE b.operator_type = 'public'), 0) AS op_public,
           coalesce(sum(b.cameras) FILTER (WHERE b.operator_type = 'business'), 0) AS op_business,
           coalesce(sum(b.cameras) FILTER (WHERE b.operator_type = 'private'), 0) AS op_private,
           coalesce(sum(b.cameras) FILTER (WHERE b.operator_type NOT IN
               ('public', 'business', 'private')), 0) AS op_unknown
    FROM hexagon_breakdown b
    GROUP BY b.resolution, b.h3
) k
JOIN _cell cl ON cl.resolution = k.resolution AND cl.h3 = k.h3
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_GeomFromWKB(cl.wkb), 4326) AS geom) g
LEFT JOIN _cell_nearest d ON d.resolution = k.resolution AND d.h3 = k.h3
