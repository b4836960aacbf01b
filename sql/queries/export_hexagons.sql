-- Hexagon summaries of one resolution for an export, in h3 order, as a binary COPY that the
-- exporter splits and derives with numpy (service/exports.py: CopyBatches), no per-row Python.
-- The stored values only, no per-row functions: the h3 index as its bigint (hex text, centroid,
-- bounds, counter-clockwise rings and the rounding of distances are computed client-side, bit
-- for bit what lpad(to_hex(h3)), ST_Centroid, ST_XMin.., ST_ForcePolygonCCW and
-- round(d::numeric, 1)::float8 give; tests compare them with those functions). Every column
-- fixed-width and NOT NULL, the polygon (WKB) last: a missing distance is sent as NaN (float4,
-- as stored; no distance is NaN otherwise). Column order is service.exports.WIRE.
-- %(resolution)s; %(minlon)s..%(maxlat)s: only cells intersecting the box (NULL: all).
-- ORDER BY the bigint h3 follows the (resolution, h3) primary key: no sort.
SELECT h3,
       resolution,
       cameras,
       n_cctv, n_doorbell, n_alpr, n_dome, n_ptz, n_traffic, n_speed, n_gunshot, n_unknown,
       op_public, op_business, op_private, op_unknown,
       area_km2, density_km2, surveyed,
       coalesce(d_clinic, 'NaN') AS d_clinic,
       coalesce(d_abortion, 'NaN') AS d_abortion,
       coalesce(d_school, 'NaN') AS d_school,
       coalesce(d_immigration, 'NaN') AS d_immigration,
       coalesce(d_courthouse, 'NaN') AS d_courthouse,
       coalesce(d_worship, 'NaN') AS d_worship,
       coalesce(d_shelter, 'NaN') AS d_shelter,
       ST_AsBinary(geom, 'NDR') AS geometry
FROM hexagon
WHERE resolution = %(resolution)s
  AND (%(minlon)s::float8 IS NULL
       OR ST_Intersects(geom, ST_MakeEnvelope(%(minlon)s, %(minlat)s, %(maxlon)s, %(maxlat)s, 4326)))
ORDER BY h3
