-- This build's per-hexagon totals into hexagon_history (%(build_id)s): the published cell counts
-- (hexagon.cameras, private cameras already withheld where too few), without geometry. In key
-- order, so the primary key grows at its end.
INSERT INTO hexagon_history (build_id, resolution, h3, cameras)
SELECT %(build_id)s, resolution, h3, cameras FROM hexagon
ORDER BY resolution, h3
