-- The private cameras that may lie in the cells of the rule's resolution an incremental build
-- redoes (_incr_pcell: each cell's polygon, its box widened a little; the exact cell is
-- decided in Python). No parameters.
SELECT DISTINCT c.id, ST_X(c.geom), ST_Y(c.geom), c.count
FROM _incr_pcell p
JOIN camera c ON c.geom && p.box
WHERE c.operator_type = 'private'
