-- Baseline cells by radius and place: /coverage's percentile and the build's site percentile
-- read the cells of ONE radius within city reach. The single geography index held all four
-- radii, so the scan fetched four times the cells it kept and rechecked each against the
-- ellipsoid (most of /coverage's time). The radius first (btree_gist, 0060) keeps it to one.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE INDEX baseline_radius_geog_idx ON baseline USING gist (radius_m, (geom::geography));
DROP INDEX baseline_geog_idx;
