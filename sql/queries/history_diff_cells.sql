-- Cells at %(resolution)s whose published camera count changed most between builds %(a)s and
-- %(b)s (ids): a cell missing from one build held no shown camera there. Top %(top)s by the size
-- of the change, then by cell.
SELECT coalesce(b.h3, a.h3) AS h3, coalesce(a.cameras, 0) AS before,
       coalesce(b.cameras, 0) AS after, coalesce(b.cameras, 0) - coalesce(a.cameras, 0) AS change
FROM (SELECT h3, cameras FROM hexagon_history
      WHERE build_id = %(a)s AND resolution = %(resolution)s) a
FULL JOIN (SELECT h3, cameras FROM hexagon_history
           WHERE build_id = %(b)s AND resolution = %(resolution)s) b ON a.h3 = b.h3
WHERE coalesce(b.cameras, 0) <> coalesce(a.cameras, 0)
ORDER BY abs(coalesce(b.cameras, 0) - coalesce(a.cameras, 0)) DESC, 1
LIMIT %(top)s
