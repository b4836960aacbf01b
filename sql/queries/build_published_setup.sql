-- Before the privacy rule runs (ingest/privacy.py): the previous published cameras go (DELETE:
-- readers keep seeing them until the transaction commits), and _private, each private camera's
-- cell of the rule's resolution with that cell's centre, is made ready (dropped at commit).
DELETE FROM camera_published;
DROP TABLE IF EXISTS _private;
CREATE TEMP TABLE _private (
    camera_id  bigint PRIMARY KEY,
    h3         bigint NOT NULL,
    lon        double precision NOT NULL,
    lat        double precision NOT NULL
) ON COMMIT DROP;
