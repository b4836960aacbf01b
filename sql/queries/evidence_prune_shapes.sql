-- After retention pruned history rows: polygons of cells no retained build shows any more.
DELETE FROM hexagon_shape s
WHERE NOT EXISTS (SELECT 1 FROM hexagon_history_span h
                  WHERE h.resolution = s.resolution AND h.h3 = s.h3)
