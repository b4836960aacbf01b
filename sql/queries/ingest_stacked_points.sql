-- Stacked coordinates of one source: exact points carrying more than %(max_reports)s reports
-- (registries geolocated by IP put thousands of devices on one point). The most loaded first,
-- at most %(top)s rows; every row also carries the totals over all stacked points.
-- %(source_id)s. Returns lat, lon, reports, devices, stacked points, reports on them.
SELECT lat, lon, reports, devices,
       count(*) OVER ()::integer AS points, (sum(reports) OVER ())::bigint AS stacked_reports
FROM (
    SELECT ST_Y(geom) AS lat, ST_X(geom) AS lon, count(*)::integer AS reports,
           sum(count)::bigint AS devices
    FROM camera_report
    WHERE source_id = %(source_id)s
    GROUP BY ST_Y(geom), ST_X(geom)
    HAVING count(*) > %(max_reports)s
) p
ORDER BY reports DESC, lat, lon
LIMIT %(top)s
