-- Hexagon summaries of one resolution for an export, in h3 order, as a binary COPY that the
-- exporter splits with numpy (service/exports.py: CopyBatches), no per-row Python: every column
-- fixed-width and NOT NULL, the polygon last. Column order is service.exports.COLUMNS, then the
-- bounds and the polygon. The h3 index as 16 hex digits (the leading zeros to_hex leaves out are
-- trimmed client-side), a missing distance as NaN (no distance is NaN otherwise). Distances are
-- float4 in the store; one decimal (10 cm) is what they can honestly claim. Rings are forced
-- counter-clockwise: RFC 7946 and GeoParquet "orientation" both want it.
-- %(resolution)s; %(minlon)s..%(maxlat)s: only cells intersecting the box (NULL: all).
SELECT lpad(to_hex(h3), 16, '0') AS h3,
       resolution,
       cameras,
       n_cctv, n_doorbell, n_alpr, n_dome, n_ptz, n_traffic, n_speed, n_gunshot, n_unknown,
       op_public, op_business, op_private, op_unknown,
       area_km2, density_km2, surveyed,
       coalesce(round(d_clinic::numeric, 1)::float8, 'NaN') AS d_clinic,
       coalesce(round(d_abortion::numeric, 1)::float8, 'NaN') AS d_abortion,
       coalesce(round(d_school::numeric, 1)::float8, 'NaN') AS d_school,
       coalesce(round(d_immigration::numeric, 1)::float8, 'NaN') AS d_immigration,
       coalesce(round(d_courthouse::numeric, 1)::float8, 'NaN') AS d_courthouse,
       coalesce(round(d_worship::numeric, 1)::float8, 'NaN') AS d_worship,
       coalesce(round(d_shelter::numeric, 1)::float8, 'NaN') AS d_shelter,
       ST_Y(ST_Centroid(geom)) AS centroid_lat,
       ST_X(ST_Centroid(geom)) AS centroid_lon,
       ST_XMin(geom) AS xmin, ST_YMin(geom) AS ymin, ST_XMax(geom) AS xmax, ST_YMax(geom) AS ymax,
       ST_AsBinary(ST_ForcePolygonCCW(geom), 'NDR') AS geometry
FROM hexagon
WHERE resolution = %(resolution)s
  AND (%(minlon)s::float8 IS NULL
       OR ST_Intersects(geom, ST_MakeEnvelope(%(minlon)s, %(minlat)s, %(maxlon)s, %(maxlat)s, 4326)))
ORDER BY h3
