-- An incremental build's hexagon cells (ingest/incremental.py): each published row that went
-- (-1) or came (+1) moves its cell at every resolution (_incr_pub_cell) by its devices; counts
-- are sums, so the breakdown then holds what build_breakdown.sql would compute. _incr_cells:
-- the cells touched; their hexagon rows go (_incr_surveyed keeps which were surveyed) and are
-- written again by build_hexagons.sql and build_hexagons_surveyed.sql. No parameters.
CREATE TEMP TABLE _incr_cells ON COMMIT DROP AS
SELECT DISTINCT resolution, h3 FROM _incr_pub_cell;
ALTER TABLE _incr_cells ADD PRIMARY KEY (resolution, h3);
INSERT INTO hexagon_breakdown AS b (resolution, h3, camera_type, operator_type, cameras)
SELECT c.resolution, c.h3, p.camera_type, p.operator_type, sum(p.sign * p.count)
FROM _incr_pub_cell c
JOIN _incr_pub p ON p.id = c.id
GROUP BY c.resolution, c.h3, p.camera_type, p.operator_type
HAVING sum(p.sign * p.count) <> 0
ON CONFLICT (resolution, h3, camera_type, operator_type)
DO UPDATE SET cameras = b.cameras + EXCLUDED.cameras;
DELETE FROM hexagon_breakdown b USING _incr_cells c
WHERE b.resolution = c.resolution AND b.h3 = c.h3 AND b.cameras = 0;
CREATE TEMP TABLE _incr_surveyed ON COMMIT DROP AS
SELECT h.resolution, h.h3 FROM hexagon h JOIN _incr_cells c USING (resolution, h3)
WHERE h.surveyed;
DELETE FROM hexagon h USING _incr_cells c WHERE h.resolution = c.resolution AND h.h3 = c.h3;
ANALYZE _incr_cells;
