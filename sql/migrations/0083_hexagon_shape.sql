-- Change maps (issue 13): the polygon of every cell shown in a retained build, once per cell (not
-- per build), so a `compare=SNAPSHOT` tile can draw a cell that held cameras then and none now.
CREATE TABLE hexagon_shape (
    resolution  smallint NOT NULL,
    h3          bigint NOT NULL,
    geom_3857   geometry(Polygon, 3857) NOT NULL,
    PRIMARY KEY (resolution, h3)
);
CREATE INDEX hexagon_shape_geom_idx ON hexagon_shape USING gist (geom_3857);
