-- camdensity store, version 1.
-- Geometry is EPSG:4326 for truth and EPSG:3857 ("*_3857") ready for tiles.
-- H3 cells are bigint inside; the API shows them as hex strings.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- Immutable wrapper so unaccent can be used in indexes (the geocoder matches on it).
CREATE OR REPLACE FUNCTION camdensity_normalize(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS
$$ SELECT lower(regexp_replace(public.unaccent('public.unaccent'::regdictionary, t), '\s+', ' ', 'g')) $$;

-- One imported dataset. `entity` says what it holds; one file may feed several entities
-- (an .osm.pbf gives cameras, sites and addresses), each its own source row.
CREATE TABLE source (
    id           serial PRIMARY KEY,
    name         text NOT NULL,
    entity       text NOT NULL CHECK (entity IN ('cameras', 'sites', 'addresses')),
    kind         text NOT NULL CHECK (kind IN ('crowdsourced', 'reported')),
    licence      text,
    attribution  text,
    origin       text,             -- where the file came from (URL or description)
    file_name    text NOT NULL,
    file_sha256  text NOT NULL,
    format       text NOT NULL,
    options      jsonb NOT NULL DEFAULT '{}',  -- column mapping etc., as given
    data_date    date,             -- date of the data itself, when known
    imported_at  timestamptz NOT NULL DEFAULT now(),
    accepted     integer NOT NULL DEFAULT 0,
    rejected     integer NOT NULL DEFAULT 0,
    UNIQUE (entity, name)
);

-- Every version of a source ever imported (re-import of the same hash is a no-op).
CREATE TABLE source_version (
    id           serial PRIMARY KEY,
    source_id    integer NOT NULL REFERENCES source (id) ON DELETE CASCADE,
    file_sha256  text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now(),
    accepted     integer NOT NULL,
    rejected     integer NOT NULL,
    removed      integer NOT NULL DEFAULT 0  -- reports of the previous version now gone
);

-- One observation from one source. Nothing the source says is dropped: `attrs` keeps it.
CREATE TABLE camera_report (
    id            bigserial PRIMARY KEY,
    source_id     integer NOT NULL REFERENCES source (id) ON DELETE CASCADE,
    source_ref    text,             -- the source's own id (OSM "node/123", CSV id column)
    line          integer,          -- line (CSV) or feature/element number in the file
    camera_type   text NOT NULL DEFAULT 'unknown',
    operator_type text NOT NULL DEFAULT 'unknown',
    operator      text,             -- operator name as given
    manufacturer  text,
    mount         text,
    zone          text,
    direction     text,             -- as given ("75", "NE", "90-180")
    direction_deg real,             -- first bearing parsed from it, when parseable
    count         integer NOT NULL DEFAULT 1 CHECK (count >= 1),
    attrs         jsonb NOT NULL DEFAULT '{}',
    geom          geometry(Point, 4326) NOT NULL,
    camera_id     bigint            -- the fused camera this report belongs to
);
CREATE INDEX camera_report_source_idx ON camera_report (source_id);
CREATE INDEX camera_report_geom_idx ON camera_report USING gist (geom);
CREATE INDEX camera_report_camera_idx ON camera_report (camera_id);

-- Reports a newer version of their source no longer contains.
CREATE TABLE camera_report_removed (
    id            bigserial PRIMARY KEY,
    source_id     integer NOT NULL REFERENCES source (id) ON DELETE CASCADE,
    version_id    integer REFERENCES source_version (id) ON DELETE CASCADE,
    source_ref    text,
    camera_type   text,
    geom          geometry(Point, 4326),
    removed_at    timestamptz NOT NULL DEFAULT now()
);

-- A physical device: reports of several sources fused together.
CREATE TABLE camera (
    id            bigserial PRIMARY KEY,
    camera_type   text NOT NULL,
    operator_type text NOT NULL,
    count         integer NOT NULL DEFAULT 1,   -- devices this point stands for
    n_reports     integer NOT NULL,
    n_sources     integer NOT NULL,             -- independent sources: the confidence
    confidence    real NOT NULL,                -- 1 - 0.5^n_sources
    geom          geometry(Point, 4326) NOT NULL,
    geom_3857     geometry(Point, 3857) NOT NULL
);
CREATE INDEX camera_geom_idx ON camera USING gist (geom);
CREATE INDEX camera_geom_3857_idx ON camera USING gist (geom_3857);
CREATE INDEX camera_geog_idx ON camera USING gist ((geom::geography));

-- Rows an import could not use, with where and why. Kept with the source version.
CREATE TABLE rejected_row (
    id          bigserial PRIMARY KEY,
    source_id   integer NOT NULL REFERENCES source (id) ON DELETE CASCADE,
    file_name   text NOT NULL,
    line        integer,
    reason      text NOT NULL,
    raw         text
);
CREATE INDEX rejected_row_source_idx ON rejected_row (source_id);

-- A place people must visit.
CREATE TABLE site (
    id          bigserial PRIMARY KEY,
    source_id   integer NOT NULL REFERENCES source (id) ON DELETE CASCADE,
    source_ref  text,
    line        integer,
    category    text NOT NULL,
    name        text,
    address     text,
    attrs       jsonb NOT NULL DEFAULT '{}',
    geom        geometry(Geometry, 4326) NOT NULL,   -- polygon where known, else point
    centroid    geometry(Point, 4326) NOT NULL,
    geom_3857   geometry(Geometry, 3857) NOT NULL
);
CREATE INDEX site_geom_idx ON site USING gist (geom);
CREATE INDEX site_geog_idx ON site USING gist ((geom::geography));
CREATE INDEX site_geom_3857_idx ON site USING gist (geom_3857);
CREATE INDEX site_category_idx ON site (category);

-- Addresses the offline geocoder searches.
CREATE TABLE address (
    id          bigserial PRIMARY KEY,
    source_id   integer NOT NULL REFERENCES source (id) ON DELETE CASCADE,
    source_ref  text,
    street      text,
    housenumber text,
    postcode    text,
    city        text,
    label       text NOT NULL,                       -- "Mannerheimintie 1, 00100 Helsinki"
    search      text NOT NULL,                       -- camdensity_normalize(label)
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX address_search_trgm_idx ON address USING gin (search gin_trgm_ops);
CREATE INDEX address_geom_idx ON address USING gist (geom);

-- Each `camdensity build`; the newest finished one is the data version readers see.
CREATE TABLE build (
    id           serial PRIMARY KEY,
    snapshot     text NOT NULL UNIQUE,              -- the data version / snapshot id
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    params       jsonb NOT NULL,                     -- the method's parameters
    sources      jsonb NOT NULL                      -- [{name, entity, kind, sha256, imported_at, licence}]
);

-- Hexagon summaries, one row per cell per resolution. Counts are of devices (camera.count).
CREATE TABLE hexagon (
    h3            bigint NOT NULL,
    resolution    smallint NOT NULL,
    cameras       integer NOT NULL,
    n_cctv        integer NOT NULL DEFAULT 0,
    n_doorbell    integer NOT NULL DEFAULT 0,
    n_alpr        integer NOT NULL DEFAULT 0,
    n_dome        integer NOT NULL DEFAULT 0,
    n_ptz         integer NOT NULL DEFAULT 0,
    n_traffic     integer NOT NULL DEFAULT 0,
    n_speed       integer NOT NULL DEFAULT 0,
    n_gunshot     integer NOT NULL DEFAULT 0,
    n_unknown     integer NOT NULL DEFAULT 0,
    op_public     integer NOT NULL DEFAULT 0,
    op_business   integer NOT NULL DEFAULT 0,
    op_private    integer NOT NULL DEFAULT 0,
    op_unknown    integer NOT NULL DEFAULT 0,
    area_km2      double precision NOT NULL,
    density_km2   double precision NOT NULL,
    -- metres to the nearest site of each category (NULL: none within the search limit)
    d_clinic      real,
    d_abortion    real,
    d_school      real,
    d_immigration real,
    d_courthouse  real,
    d_worship     real,
    d_shelter     real,
    geom          geometry(Polygon, 4326) NOT NULL,
    geom_3857     geometry(Polygon, 3857) NOT NULL,
    PRIMARY KEY (resolution, h3)
);
CREATE INDEX hexagon_geom_3857_idx ON hexagon USING gist (geom_3857);
CREATE INDEX hexagon_geom_idx ON hexagon USING gist (geom);

-- Counts per cell by type x operator, for filtered tiles and exports.
CREATE TABLE hexagon_breakdown (
    resolution    smallint NOT NULL,
    h3            bigint NOT NULL,
    camera_type   text NOT NULL,
    operator_type text NOT NULL,
    cameras       integer NOT NULL,
    PRIMARY KEY (resolution, h3, camera_type, operator_type)
);

-- Private cameras withheld from cells where fewer than the minimum share a cell, per resolution
-- (a total only: per-cell figures would reveal them).
CREATE TABLE hexagon_withheld (
    resolution    smallint PRIMARY KEY,
    cameras       integer NOT NULL
);

-- "The city" a point is compared with: cameras within each radius of baseline cell centres.
CREATE TABLE baseline (
    h3          bigint NOT NULL,
    radius_m    integer NOT NULL,
    cameras     integer NOT NULL,
    geom        geometry(Point, 4326) NOT NULL,
    PRIMARY KEY (radius_m, h3)
);
CREATE INDEX baseline_geog_idx ON baseline USING gist ((geom::geography));

-- How watched each site is.
CREATE TABLE site_exposure (
    site_id             bigint PRIMARY KEY REFERENCES site (id) ON DELETE CASCADE,
    cameras_50m         integer NOT NULL,
    cameras_100m        integer NOT NULL,
    cameras_200m        integer NOT NULL,
    cameras_500m        integer NOT NULL,
    by_type             jsonb NOT NULL,   -- {"200": {"cctv": 3, "alpr": 1}, ...}
    by_operator         jsonb NOT NULL,   -- {"200": {"public": 2, ...}, ...}
    effective_cameras   double precision NOT NULL,  -- Amnesty's 120 m overlap method
    percentile_category double precision,           -- 0..100 among sites of its category
    percentile_city     double precision            -- 0..100 against nearby baseline cells
);
