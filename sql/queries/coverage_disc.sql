-- The geodesic disc of a radius around a point, as GeoJSON (for the H3 cells it touches).
-- %(lon)s, %(lat)s, %(radius)s metres.
SELECT ST_AsGeoJSON(
    ST_Buffer(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography, %(radius)s,
              'quad_segs=16')::geometry, 7)
