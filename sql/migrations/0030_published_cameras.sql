-- The published camera layer: the one place private/residential cameras enter public figures.
-- Each build rewrites it from `camera` (ingest/privacy.py, sql/queries/build_published.sql):
-- every non-private camera as it is; private cameras only as aggregates of at least
-- `private_min_per_cell` points sharing an H3 cell of `private_resolution`, snapped to that
-- cell's centre. Hexagons, exposure, baseline, coverage and exports read this table, never
-- `camera`, so no query over them can locate a private camera more finely than that cell.
CREATE TABLE camera_published (
    id            bigserial PRIMARY KEY,
    camera_id     bigint,             -- the camera (non-private rows); NULL for a private aggregate
    camera_type   text NOT NULL,
    operator_type text NOT NULL,
    count         integer NOT NULL,   -- devices (a private aggregate's possibly rounded to a step)
    points        integer NOT NULL,   -- camera points (households, for private ones) it stands for
    h3            bigint,             -- a private aggregate's cell; NULL otherwise
    geom          geometry(Point, 4326) NOT NULL,
    geom_3857     geometry(Point, 3857) NOT NULL
);
CREATE INDEX camera_published_geom_idx ON camera_published USING gist (geom);
CREATE INDEX camera_published_geom_3857_idx ON camera_published USING gist (geom_3857);
CREATE INDEX camera_published_geog_idx ON camera_published USING gist ((geom::geography));
