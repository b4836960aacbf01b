-- Everything an export must know before its first byte, in one statement so it sees one state:
-- the data version (newest finished build), the resolutions present, and the row count and
-- extent of export_hexagons.sql (same filter; GeoParquet wants the "bbox" in the schema,
-- written before any row group).
-- No row before the first build.
SELECT b.id, b.snapshot, b.finished_at, b.params, b.sources,
       ARRAY(
           WITH RECURSIVE r AS (  -- skip scan over the (resolution, h3) key: cheap on big tables
               (SELECT resolution FROM hexagon ORDER BY resolution LIMIT 1)
               UNION ALL
               SELECT (SELECT h.resolution FROM hexagon h WHERE h.resolution > r.resolution
                       ORDER BY h.resolution LIMIT 1)
               FROM r WHERE r.resolution IS NOT NULL
           )
           SELECT resolution::int FROM r WHERE resolution IS NOT NULL ORDER BY resolution
       ) AS resolutions,
       e.n, ST_XMin(e.extent), ST_YMin(e.extent), ST_XMax(e.extent), ST_YMax(e.extent)
FROM (SELECT id, snapshot, finished_at, params, sources FROM build
      WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1) AS b,
     (SELECT count(*) AS n, ST_Extent(geom)::geometry AS extent
      FROM hexagon
      WHERE resolution = %(resolution)s
        AND (%(minlon)s::float8 IS NULL
             OR ST_Intersects(geom, ST_MakeEnvelope(%(minlon)s, %(minlat)s, %(maxlon)s,
                                                    %(maxlat)s, 4326)))) AS e
