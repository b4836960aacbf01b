-- "The city": every baseline cell with the published devices (ingest/privacy.py) within each
-- radius of its centre, geodesic as the coverage query counts them. The counts are computed
-- beforehand (ingest/baseline.py: a grid candidate search, the chord through the ellipsoid,
-- PostGIS's distance only within a millimetre of a radius) and staged in _base. No parameters.
INSERT INTO baseline (h3, radius_m, cameras, geom)
SELECT h3, radius_m, cameras, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
FROM _base
