-- This build's per-hexagon totals into the history (%(build_id)s; hexagon_history_span,
-- migration 0151): the published cell counts (hexagon.cameras, private cameras already withheld
-- where too few), without geometry. Only what changed is written: the span of a cell whose
-- count changed or that is no longer shown ends at the build before; a cell shown with a new
-- count opens a span. Cells unchanged keep their open span.
UPDATE hexagon_history_span s SET last_build = %(build_id)s - 1
WHERE s.last_build IS NULL
  AND NOT EXISTS (SELECT 1 FROM hexagon h
                  WHERE h.resolution = s.resolution AND h.h3 = s.h3 AND h.cameras = s.cameras);
INSERT INTO hexagon_history_span (resolution, h3, cameras, first_build)
SELECT h.resolution, h.h3, h.cameras, %(build_id)s
FROM hexagon h
WHERE NOT EXISTS (SELECT 1 FROM hexagon_history_span s
                  WHERE s.last_build IS NULL AND s.resolution = h.resolution AND s.h3 = h.h3);
