-- Cells the previous finished build showed and this one (%(build_id)s, its history written)
-- does not, whose polygon hexagon_shape does not hold yet: evidence/record.py draws them into
-- it, so a change tile can still draw them (cells on the map are drawn from hexagon).
SELECT p.resolution, p.h3
FROM hexagon_history p
WHERE p.build_id = (SELECT max(id) FROM build
                    WHERE finished_at IS NOT NULL AND pruned_at IS NULL AND id < %(build_id)s)
  AND NOT EXISTS (SELECT 1 FROM hexagon_history c
                  WHERE c.build_id = %(build_id)s AND c.resolution = p.resolution AND c.h3 = p.h3)
  AND NOT EXISTS (SELECT 1 FROM hexagon_shape s WHERE s.resolution = p.resolution AND s.h3 = p.h3)
