-- Cells the previous finished build showed and this one (%(build_id)s, its history written)
-- does not, whose polygon hexagon_shape does not hold yet: evidence/record.py draws them into
-- it, so a change tile can still draw them (cells on the map are drawn from hexagon). Those are
-- the cells whose span this build ended (evidence_history_hexagons.sql) without opening another.
SELECT p.resolution, p.h3
FROM hexagon_history_span p
WHERE p.last_build = %(build_id)s - 1
  AND NOT EXISTS (SELECT 1 FROM hexagon_history_span c
                  WHERE c.last_build IS NULL AND c.resolution = p.resolution AND c.h3 = p.h3)
  AND NOT EXISTS (SELECT 1 FROM hexagon_shape s WHERE s.resolution = p.resolution AND s.h3 = p.h3)
