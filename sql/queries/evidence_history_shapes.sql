-- Polygons of the cells that left the map (_gone_shape: H3 polygons as WKB, written by
-- evidence/record.py), made as build_hexagons.sql makes a hexagon's geom_3857. No parameters.
INSERT INTO hexagon_shape (resolution, h3, geom_3857)
SELECT resolution, h3, ST_Transform(ST_SetSRID(ST_GeomFromWKB(wkb), 4326), 3857)
FROM _gone_shape
ON CONFLICT (resolution, h3) DO NOTHING
