-- The privacy rule over the changed cameras of an incremental build (ingest/incremental.py),
-- non-private half: their published rows go and their new rows come (as build_published.sql
-- publishes them: as they are, one point each). Each row that goes (-1) or comes (+1) is
-- recorded in _incr_pub, what the hexagons, baseline and sites then change by. Private
-- aggregates are redone per cell afterwards by build_published.sql itself. No parameters.
CREATE TEMP TABLE _incr_pub (
    id            serial PRIMARY KEY,
    sign          integer NOT NULL,
    camera_type   text NOT NULL,
    operator_type text NOT NULL,
    count         integer NOT NULL,
    h3            bigint,
    geom          geometry(Point, 4326) NOT NULL
) ON COMMIT DROP;
WITH gone AS (
    DELETE FROM camera_published p WHERE p.camera_id IN (SELECT id FROM _incr_old)
    RETURNING p.camera_type, p.operator_type, p.count, p.h3, p.geom
)
INSERT INTO _incr_pub (sign, camera_type, operator_type, count, h3, geom)
SELECT -1, camera_type, operator_type, count, h3, geom FROM gone;
WITH came AS (
    INSERT INTO camera_published (camera_id, camera_type, operator_type, count, points, h3, geom,
                                  geom_3857)
    SELECT id, camera_type, operator_type, count, 1, NULL, geom, geom_3857
    FROM _incr_new WHERE operator_type <> 'private'
    ORDER BY id
    RETURNING camera_type, operator_type, count, h3, geom
)
INSERT INTO _incr_pub (sign, camera_type, operator_type, count, h3, geom)
SELECT 1, camera_type, operator_type, count, h3, geom FROM came;
