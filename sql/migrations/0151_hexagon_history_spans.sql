-- Issue 10 (incremental builds): the per-build hexagon history is kept as spans of builds over
-- which a cell showed the same count, so a build writes only the cells that changed (copying
-- every hexagon per build cost a build that changed 1% of the cameras as much as a quarter of
-- its rewrites). A span runs from first_build to last_build (NULL: to the newest build, i.e.
-- it is the current count). `hexagon_history` stays, as a view with the rows it had: one per
-- retained build and cell shown (evidence/history.py, history_diff_cells.sql,
-- tile_compare_mvt.sql read it unchanged).
CREATE TABLE hexagon_history_span (
    resolution  smallint NOT NULL,
    h3          bigint NOT NULL,
    cameras     integer NOT NULL,
    first_build integer NOT NULL,
    last_build  integer
);
-- The existing rows: a span of one build each, the newest build's left open (they are the
-- hexagons of the current build).
INSERT INTO hexagon_history_span (resolution, h3, cameras, first_build, last_build)
SELECT h.resolution, h.h3, h.cameras, h.build_id,
       CASE WHEN h.build_id = (SELECT max(build_id) FROM hexagon_history) THEN NULL
            ELSE h.build_id END
FROM hexagon_history h;
DROP TABLE hexagon_history;
CREATE UNIQUE INDEX hexagon_history_span_open_idx ON hexagon_history_span (resolution, h3)
    WHERE last_build IS NULL;
CREATE INDEX hexagon_history_span_cell_idx ON hexagon_history_span (resolution, h3);
CREATE INDEX hexagon_history_span_first_idx ON hexagon_history_span (resolution, first_build);
CREATE INDEX hexagon_history_span_last_idx ON hexagon_history_span (last_build);
CREATE VIEW hexagon_history AS
SELECT b.id AS build_id, s.resolution, s.h3, s.cameras
FROM build b
JOIN hexagon_history_span s
  ON s.first_build <= b.id AND (s.last_build IS NULL OR s.last_build >= b.id)
WHERE b.finished_at IS NOT NULL AND b.pruned_at IS NULL;
