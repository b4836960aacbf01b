-- Per built resolution: cells shown, devices summed over them, and private devices withheld.
SELECT r.resolution, coalesce(h.cells, 0)::integer, coalesce(h.cameras, 0)::bigint,
       coalesce(w.cameras, 0)::bigint
FROM (SELECT resolution FROM hexagon UNION SELECT resolution FROM hexagon_withheld) r
LEFT JOIN (SELECT resolution, count(*) AS cells, sum(cameras) AS cameras
           FROM hexagon GROUP BY resolution) h ON h.resolution = r.resolution
LEFT JOIN hexagon_withheld w ON w.resolution = r.resolution
ORDER BY r.resolution
