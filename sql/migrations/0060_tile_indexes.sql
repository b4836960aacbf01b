-- Per-resolution spatial indexes for tiles: a tile reads the cells of one resolution only.
-- One GiST over all seven resolutions made a z8 tile's index scan fetch and throw away ~95% of
-- what it read (the finer cells under the same box). Partial indexes (`WHERE resolution = r`)
-- would not serve the tile statement: it is prepared once with the resolution as a parameter
-- ($4), and a generic plan cannot prove `resolution = $4` implies any one partial index. A
-- two-column GiST with the resolution first (btree_gist) splits its tree by resolution and is
-- used by generic and custom plans alike. The single-column index it replaces served no other
-- query (every hexagon read by box also names its resolution), so builds maintain one fewer.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE INDEX hexagon_resolution_geom_3857_idx ON hexagon USING gist (resolution, geom_3857);
DROP INDEX hexagon_geom_3857_idx;
