-- Evidence (issue 13): cameras facing sites, and the history of builds.

-- A build whose history retention pruned: its row stays (snapshot ids cited in exports and
-- reports still resolve to their parameters and sources), its history rows are gone.
ALTER TABLE build ADD COLUMN IF NOT EXISTS pruned_at timestamptz;

-- Which way each camera looks, from its reports' direction tags: a list of sectors, each
-- [from, to] in degrees clockwise from north (to < from wraps through north). Only cameras whose
-- direction is known have a row; private/residential cameras never get one (they are not drawn
-- one by one and their direction is never used).
CREATE TABLE camera_view (
    camera_id   bigint PRIMARY KEY,
    direction   text NOT NULL,           -- as the first report giving one says it
    sectors     real[] NOT NULL          -- flattened pairs: {from1, to1, from2, to2, ...}
);

-- Per site and radius: non-private devices facing it, looking elsewhere, or of unknown direction.
CREATE TABLE site_facing (
    site_id           bigint NOT NULL REFERENCES site (id) ON DELETE CASCADE,
    radius_m          integer NOT NULL,
    facing            integer NOT NULL,
    not_facing        integer NOT NULL,
    direction_unknown integer NOT NULL,
    PRIMARY KEY (site_id, radius_m)
);

-- The fields of view drawn in the tiles' `fov` layer (non-private cameras of known direction).
CREATE TABLE camera_fov (
    camera_id   bigint NOT NULL,
    camera_type   text NOT NULL,
    operator_type text NOT NULL,
    geom_3857     geometry(Polygon, 3857) NOT NULL
);
CREATE INDEX camera_fov_geom_idx ON camera_fov USING gist (geom_3857);

-- Each build's site exposure, keyed by a site key that survives re-imports (source name and the
-- source's own id), and its per-hexagon totals without geometry: compact, and enough to follow a
-- site or a cell across data versions.
CREATE TABLE site_history (
    build_id          integer NOT NULL REFERENCES build (id) ON DELETE CASCADE,
    site_key          text NOT NULL,
    site_id           bigint NOT NULL,   -- the site's id in that build (re-imports renumber)
    category          text NOT NULL,
    name              text,
    cameras_50m       integer NOT NULL,
    cameras_100m      integer NOT NULL,
    cameras_200m      integer NOT NULL,
    cameras_500m      integer NOT NULL,
    effective_cameras real NOT NULL,
    facing_200m       integer,
    PRIMARY KEY (build_id, site_key)
);
CREATE INDEX site_history_key_idx ON site_history (site_key, build_id);

CREATE TABLE hexagon_history (
    build_id    integer NOT NULL REFERENCES build (id) ON DELETE CASCADE,
    resolution  smallint NOT NULL,
    h3          bigint NOT NULL,
    cameras     integer NOT NULL,
    PRIMARY KEY (build_id, resolution, h3)
);
