-- Polygons of this build's cells not kept yet (hexagon_shape holds each cell once).
INSERT INTO hexagon_shape (resolution, h3, geom_3857)
SELECT resolution, h3, geom_3857 FROM hexagon
ON CONFLICT (resolution, h3) DO NOTHING
