-- The privacy rule: a cell where fewer than the minimum private/residential cameras (points, i.e.
-- households, not devices) share it shows none of them. Parameter: min_private.
INSERT INTO _withheld (resolution, h3)
SELECT s.resolution, s.h3
FROM _cam_cell s
JOIN camera c ON c.id = s.camera_id
WHERE c.operator_type = 'private'
GROUP BY s.resolution, s.h3
HAVING count(*) < %(min_private)s
