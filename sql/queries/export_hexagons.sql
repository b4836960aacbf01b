-- Hexagon summaries of one resolution for an export, optionally only those intersecting a
-- lon/lat box. %(minlon)s IS NULL means no box. Column order is service.exports.COLUMNS.
-- Rings are forced counter-clockwise: RFC 7946 and GeoParquet "orientation" both want it.
SELECT to_hex(h3) AS h3,
       resolution,
       cameras,
       n_cctv, n_doorbell, n_alpr, n_dome, n_ptz, n_traffic, n_speed, n_gunshot, n_unknown,
       op_public, op_business, op_private, op_unknown,
       area_km2, density_km2, surveyed,
       -- Distances are float4 in the store; one decimal (10 cm) is what they can honestly claim.
       round(d_clinic::numeric, 1)::float8 AS d_clinic,
       round(d_abortion::numeric, 1)::float8 AS d_abortion,
       round(d_school::numeric, 1)::float8 AS d_school,
       round(d_immigration::numeric, 1)::float8 AS d_immigration,
       round(d_courthouse::numeric, 1)::float8 AS d_courthouse,
       round(d_worship::numeric, 1)::float8 AS d_worship,
       round(d_shelter::numeric, 1)::float8 AS d_shelter,
       ST_Y(ST_Centroid(geom)) AS centroid_lat,
       ST_X(ST_Centroid(geom)) AS centroid_lon,
       ST_XMin(geom) AS xmin, ST_YMin(geom) AS ymin, ST_XMax(geom) AS xmax, ST_YMax(geom) AS ymax,
       ST_AsBinary(ST_ForcePolygonCCW(geom), 'NDR') AS geometry
FROM hexagon
WHERE resolution = %(resolution)s
  AND (%(minlon)s::float8 IS NULL
       OR ST_Intersects(geom, ST_MakeEnvelope(%(minlon)s, %(minlat)s, %(maxlon)s, %(maxlat)s, 4326)))
ORDER BY h3
