-- Working tables of one build (dropped at commit). _cam_cell: each published camera's cell per
-- resolution; _cell: each cell's area, centre and polygon (WKB); _cell_dist: metres from a cell
-- centre to the nearest site of a category; _base: baseline cells with their centres and counts; _near:
-- (site, published camera) pairs within reach.
DROP TABLE IF EXISTS _cam_cell, _cell, _cell_dist, _cell_nearest, _base, _near, _band;
CREATE TEMP TABLE _cam_cell (
    camera_id  bigint NOT NULL,
    resolution smallint NOT NULL,
    h3         bigint NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE _cell (
    resolution smallint NOT NULL,
    h3         bigint NOT NULL,
    area_km2   double precision NOT NULL,
    lon        double precision NOT NULL,
    lat        double precision NOT NULL,
    wkb        bytea NOT NULL,
    PRIMARY KEY (resolution, h3)
) ON COMMIT DROP;
CREATE TEMP TABLE _cell_dist (
    resolution smallint NOT NULL,
    h3         bigint NOT NULL,
    category   text NOT NULL,
    dist       double precision NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE _base (
    h3       bigint NOT NULL,
    radius_m integer NOT NULL,
    cameras  bigint NOT NULL,
    lon      double precision NOT NULL,
    lat      double precision NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE _near (
    site_id   bigint NOT NULL,
    camera_id bigint NOT NULL,
    dist      double precision NOT NULL
) ON COMMIT DROP;
