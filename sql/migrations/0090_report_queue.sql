-- Crowdsourced reports from the map (issue 11): the moderation queue, the admin key and the
-- proof-of-work signing key. Nothing about a reporter is kept: no address, no user agent, no
-- exact time (the hour a report arrived, for the per-area hourly limit and its age; the day it
-- was decided, for the retention of rejected ones). Who may do what (camdensity/roles.py,
-- sql/queries/report_role_grant.sql): the reporter role inserts and deletes by receipt only;
-- the moderator role reads, decides and turns approved reports into the `web-reports` source.
CREATE TABLE report_queue (
    id               bigserial PRIMARY KEY,
    receipt_sha256   bytea NOT NULL UNIQUE,     -- SHA-256 of the receipt given to the reporter
    challenge_sha256 bytea UNIQUE,              -- the spent proof-of-work challenge (no replay)
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'rejected')),
    camera_type      text NOT NULL CHECK (camera_type IN
        ('cctv', 'doorbell', 'alpr', 'dome', 'ptz', 'traffic', 'speed', 'gunshot', 'unknown')),
    operator_type    text NOT NULL CHECK (operator_type IN ('public', 'business', 'private', 'unknown')),
    operator         text,                      -- who runs it, as the reporter named it (OSM operator)
    -- As imports read it: camdensity_direction_deg (migration 0002) must find a bearing in it.
    direction        text CHECK (direction IS NULL OR camdensity_direction_deg(direction) IS NOT NULL),
    mount            text,
    note             text,
    geom             geometry(Point, 4326) NOT NULL,
    area_h3          bigint NOT NULL,           -- the report's cell for the per-area limit
    received_hour    timestamptz NOT NULL DEFAULT date_trunc('hour', now()),
    decided_on       date                       -- rejected: the day (retention counts from it)
);
CREATE INDEX report_queue_area_idx ON report_queue (area_h3, received_hour);
CREATE INDEX report_queue_status_idx ON report_queue (status);

-- The moderation API key, stored only as its SHA-256 (`camdensity admin-key` replaces it).
CREATE TABLE report_admin_key (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    key_sha256  bytea NOT NULL,
    created_on  date NOT NULL DEFAULT current_date
);

-- Signs proof-of-work challenges, so any worker verifies a challenge another one issued. It
-- says nothing about anyone (the key of the per-client limits is never stored: it lives in
-- each process's memory only).
CREATE TABLE report_pow_key (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    key  bytea NOT NULL
);
INSERT INTO report_pow_key (key)
VALUES (sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text
                          || gen_random_uuid()::text, 'UTF8')));
