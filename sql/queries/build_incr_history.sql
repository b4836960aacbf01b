-- An incremental build's history (as evidence_history_hexagons.sql), over the cells it
-- rewrote (_incr_cells): the others were not touched, their open spans stand. %(build_id)s.
UPDATE hexagon_history_span s SET last_build = %(build_id)s - 1
FROM _incr_cells c
WHERE s.last_build IS NULL AND s.resolution = c.resolution AND s.h3 = c.h3
  AND NOT EXISTS (SELECT 1 FROM hexagon h
                  WHERE h.resolution = s.resolution AND h.h3 = s.h3 AND h.cameras = s.cameras);
INSERT INTO hexagon_history_span (resolution, h3, cameras, first_build)
SELECT h.resolution, h.h3, h.cameras, %(build_id)s
FROM hexagon h
JOIN _incr_cells c ON c.resolution = h.resolution AND c.h3 = h.h3
WHERE NOT EXISTS (SELECT 1 FROM hexagon_history_span s
                  WHERE s.last_build IS NULL AND s.resolution = h.resolution AND s.h3 = h.h3);
