-- The "addresses" null model: up to %(n)s imported addresses drawn at random from those within
-- %(area_m)s metres of a site of the category (and in the box, when given), each with the
-- non-private devices within %(radius)s metres, as the sites are counted (analysis_sites.sql).
-- The draw is an ORDER BY on a hash of the seed and the address's label and position, so the
-- same seed over the same imported data draws the same addresses; none of them leaves the store.
-- %(category)s, %(minlon)s..%(maxlat)s (NULL: everywhere), %(area_m)s, %(seed)s, %(n)s, %(radius)s.
-- Returns one row per drawn address, in draw order: its count, and the size of the pool.
-- Reads camera_published (the build's published layer, ingest/privacy.py), as the API role may.
WITH env AS (
    SELECT ST_MakeEnvelope(%(minlon)s::float8, %(minlat)s::float8, %(maxlon)s::float8,
                           %(maxlat)s::float8, 4326) AS box
),
sites AS (
    SELECT s.geom FROM site s CROSS JOIN env
    WHERE s.category = %(category)s AND (env.box IS NULL OR s.centroid && env.box)
),
pool AS (
    SELECT a.id, a.geom,
           md5(%(seed)s::text || '|' || a.label || '|' || ST_AsText(a.geom)) AS draw
    FROM address a CROSS JOIN env
    WHERE (env.box IS NULL OR a.geom && env.box)
      AND EXISTS (SELECT 1 FROM sites s
                  WHERE ST_DWithin(a.geom::geography, s.geom::geography, %(area_m)s::float8))
),
chosen AS (
    SELECT id, geom, draw, (SELECT count(*) FROM pool) AS pool_size
    FROM pool ORDER BY draw, id LIMIT %(n)s
)
SELECT coalesce(sum(c.count), 0)::integer AS cameras, p.pool_size
FROM chosen p
LEFT JOIN camera_published c ON c.operator_type <> 'private'
     AND ST_DWithin(c.geom::geography, p.geom::geography, %(radius)s::float8)
GROUP BY p.id, p.draw, p.pool_size
ORDER BY p.draw, p.id
