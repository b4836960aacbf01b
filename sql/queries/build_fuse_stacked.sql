-- Exactly coincident stacks first (IP-geolocated registries put thousands of devices on one
-- point). Where every report of the source at a point pairs at distance 0 with every camera
-- there, the rounds would match them one pair per round (ties go to the lowest ids: the
-- lowest report with the lowest camera, then the next two...), costing one pass over all pairs
-- per device. Here they are matched at once the same way: the i-th report by id with the i-th
-- camera by id; build_fuse_accept then records them. Parameter: source_id.
INSERT INTO _fuse_round (report_id, cam, source_id)
WITH z AS (
    SELECT p.report_id, p.cam, ST_X(r.geom) AS x, ST_Y(r.geom) AS y
    FROM _fuse_pair p
    JOIN camera_report r ON r.id = p.report_id
    WHERE p.dist = 0
), complete AS (
    SELECT x, y FROM z GROUP BY x, y
    HAVING count(*) = count(DISTINCT report_id) * count(DISTINCT cam) AND count(*) > 1
), reports AS (
    SELECT report_id, x, y, row_number() OVER (PARTITION BY x, y ORDER BY report_id) AS n
    FROM (SELECT DISTINCT report_id, x, y FROM z) d JOIN complete USING (x, y)
), cams AS (
    SELECT cam, x, y, row_number() OVER (PARTITION BY x, y ORDER BY cam) AS n
    FROM (SELECT DISTINCT cam, x, y FROM z) d JOIN complete USING (x, y)
)
SELECT reports.report_id, cams.cam, %(source_id)s::integer
FROM reports JOIN cams USING (x, y, n)
