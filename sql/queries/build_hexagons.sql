-- One row per cell holding a published camera, from _hex (ingest/cells.py: devices by type and
-- operator, summed from the hexagon_breakdown rows it wrote, area, density and the H3 polygon)
-- with the distance to the nearest site of each category; polygon in 4326 and 3857.
INSERT INTO hexagon (h3, resolution, cameras,
                     n_cctv, n_doorbell, n_alpr, n_dome, n_ptz, n_traffic, n_speed, n_gunshot,
                     n_unknown, op_public, op_business, op_private, op_unknown,
                     area_km2, density_km2,
                     d_clinic, d_abortion, d_school, d_immigration, d_courthouse, d_worship,
                     d_shelter, geom, geom_3857)
SELECT k.h3, k.resolution, k.cameras,
       k.n_cctv, k.n_doorbell, k.n_alpr, k.n_dome, k.n_ptz, k.n_traffic, k.n_speed, k.n_gunshot,
       k.n_unknown, k.op_public, k.op_business, k.op_private, k.op_unknown,
       k.area_km2, k.density_km2,
       d.clinic, d.abortion, d.school, d.immigration, d.courthouse, d.worship, d.shelter,
       g.geom, ST_Transform(g.geom, 3857)
FROM _hex k
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_GeomFromWKB(k.wkb), 4326) AS geom) g
LEFT JOIN _cell_nearest d ON d.resolution = k.resolution AND d.h3 = k.h3
