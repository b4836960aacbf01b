-- Non-private cameras located no better than their sources' --precision, published for
-- /coverage to state how many low-precision cameras it counted without reading `camera` (the
-- read-only API role cannot: it holds private cameras' exact points). Rewritten by each build.
CREATE TABLE camera_uncertain (
    camera_id     bigint PRIMARY KEY,
    uncertainty_m real NOT NULL,
    count         integer NOT NULL,
    geom          geometry(Point, 4326) NOT NULL
);
CREATE INDEX camera_uncertain_geog_idx ON camera_uncertain USING gist ((geom::geography));
