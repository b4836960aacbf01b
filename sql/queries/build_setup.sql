-- Working tables of one build (dropped at commit). _hex: each cell's hexagon row before it has
-- site distances (counts, area, density, polygon as WKB; ingest/cells.py, unindexed: written
-- once, read once); _cell: cells an incremental build rewrites, with area, centre and polygon
-- (WKB; ingest/incremental.py); _cell_dist: metres from a cell centre to the nearest site of a
-- category; _base: baseline cells with their centres and counts; _near: (site, published camera) pairs
-- within reach.
DROP TABLE IF EXISTS _hex, _cell, _cell_dist, _cell_nearest, _base, _near, _band;
CREATE TEMP TABLE _hex (
    resolution  smallint NOT NULL,
    h3          bigint NOT NULL,
    cameras     bigint NOT NULL,
    n_cctv      bigint NOT NULL,
    n_doorbell  bigint NOT NULL,
    n_alpr      bigint NOT NULL,
    n_dome      bigint NOT NULL,
    n_ptz       bigint NOT NULL,
    n_traffic   bigint NOT NULL,
    n_speed     bigint NOT NULL,
    n_gunshot   bigint NOT NULL,
    n_unknown   bigint NOT NULL,
    op_public   bigint NOT NULL,
    op_business bigint NOT NULL,
    op_private  bigint NOT NULL,
    op_unknown  bigint NOT NULL,
    area_km2    double precision NOT NULL,
    density_km2 double precision NOT NULL,
    wkb         bytea NOT NULL
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
