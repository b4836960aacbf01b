-- Working tables of one fusion run (dropped at commit; a second run in the same transaction
-- starts afresh). _fuse_type: each camera type's family and specificity (from ingest/fuse.py).
-- _fuse_assign: report -> camera. _fuse_cam: each camera's family and position so far (its
-- spatial index is built once the first source is in: faster than growing it row by row).
-- _fuse_pair: candidate (report, camera) pairs of the source being fused; _fuse_round: one
-- round's accepted matches; _fuse_camera: the result before it replaces `camera`.
DROP TABLE IF EXISTS _fuse_type, _fuse_assign, _fuse_cam, _fuse_pair, _fuse_round, _fuse_camera;
CREATE TEMP TABLE _fuse_type (
    camera_type text PRIMARY KEY,
    family      text,
    specificity integer NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE _fuse_assign (
    report_id bigint PRIMARY KEY,
    cam       bigint NOT NULL,
    source_id integer NOT NULL
) ON COMMIT DROP;
CREATE INDEX ON _fuse_assign (cam);
CREATE INDEX ON _fuse_assign (source_id);
CREATE TEMP TABLE _fuse_cam (
    cam    bigint PRIMARY KEY,
    family text,
    geog   geography(Point, 4326) NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE _fuse_pair (
    report_id bigint NOT NULL,
    cam       bigint NOT NULL,
    dist      double precision NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE _fuse_round (
    report_id bigint NOT NULL,
    cam       bigint NOT NULL,
    source_id integer NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE _fuse_camera (LIKE camera) ON COMMIT DROP;
