-- The data's extent (EPSG:4326) for TileJSON bounds and the map's default view: the cells of the
-- coarsest resolution built cover every camera and site at every finer one. Then the centre of
-- the coarsest cell with the most cameras: where a map should open.
WITH coarse AS (
    SELECT h3, cameras, geom FROM hexagon WHERE resolution = (SELECT min(resolution) FROM hexagon)
),
busiest AS (
    SELECT ST_Centroid(geom) AS c FROM coarse ORDER BY cameras DESC, h3 LIMIT 1
)
SELECT ST_XMin(e.box), ST_YMin(e.box), ST_XMax(e.box), ST_YMax(e.box),
       (SELECT ST_X(c) FROM busiest), (SELECT ST_Y(c) FROM busiest)
FROM (SELECT ST_Extent(geom) AS box FROM coarse) e
WHERE e.box IS NOT NULL;
