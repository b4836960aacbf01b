-- Each cell's distance to the nearest site of every category, one row per cell (pivot of
-- _cell_dist), made once for build_hexagons and build_hexagons_surveyed. No parameters.
CREATE TEMP TABLE _cell_nearest ON COMMIT DROP AS
SELECT resolution, h3,
       min(dist) FILTER (WHERE category = 'clinic') AS clinic,
       min(dist) FILTER (WHERE category = 'abortion') AS abortion,
       min(dist) FILTER (WHERE category = 'school') AS school,
       min(dist) FILTER (WHERE category = 'immigration') AS immigration,
       min(dist) FILTER (WHERE category = 'courthouse') AS courthouse,
       min(dist) FILTER (WHERE category = 'worship') AS worship,
       min(dist) FILTER (WHERE category = 'shelter') AS shelter
FROM _cell_dist
GROUP BY resolution, h3;
CREATE INDEX ON _cell_nearest (resolution, h3);
