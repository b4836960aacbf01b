-- Ingest that survives real files (issue 7): wide aggregates, survey evidence, precision.

-- Counts summed over cells, sites and the city can exceed 2^31 once sources are large (a row
-- may stand for up to CAMDENSITY_INGEST_MAX_COUNT devices): every aggregate column is bigint.
ALTER TABLE hexagon
    ALTER COLUMN cameras TYPE bigint, ALTER COLUMN n_cctv TYPE bigint,
    ALTER COLUMN n_doorbell TYPE bigint, ALTER COLUMN n_alpr TYPE bigint,
    ALTER COLUMN n_dome TYPE bigint, ALTER COLUMN n_ptz TYPE bigint,
    ALTER COLUMN n_traffic TYPE bigint, ALTER COLUMN n_speed TYPE bigint,
    ALTER COLUMN n_gunshot TYPE bigint, ALTER COLUMN n_unknown TYPE bigint,
    ALTER COLUMN op_public TYPE bigint, ALTER COLUMN op_business TYPE bigint,
    ALTER COLUMN op_private TYPE bigint, ALTER COLUMN op_unknown TYPE bigint;
ALTER TABLE hexagon_breakdown ALTER COLUMN cameras TYPE bigint;
ALTER TABLE hexagon_withheld ALTER COLUMN cameras TYPE bigint;
ALTER TABLE baseline ALTER COLUMN cameras TYPE bigint;
ALTER TABLE site_exposure
    ALTER COLUMN cameras_50m TYPE bigint, ALTER COLUMN cameras_100m TYPE bigint,
    ALTER COLUMN cameras_200m TYPE bigint, ALTER COLUMN cameras_500m TYPE bigint;

-- Survey evidence: rows with count 0 ("volunteers looked here and saw no camera"). Hexagons
-- holding one are `surveyed`, so "no camera seen" differs from "nobody looked".
CREATE TABLE survey_point (
    id          bigserial PRIMARY KEY,
    source_id   integer NOT NULL REFERENCES source (id) ON DELETE CASCADE,
    source_ref  text,
    line        integer,
    attrs       jsonb NOT NULL DEFAULT '{}',
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX survey_point_source_idx ON survey_point (source_id);
CREATE INDEX survey_point_geom_idx ON survey_point USING gist (geom);
ALTER TABLE hexagon ADD COLUMN surveyed boolean NOT NULL DEFAULT false;

-- A source's location uncertainty in metres (`--precision`; IP geolocation is kilometres).
-- NULL: as precise as the coordinates say. A fused camera keeps the finest of its reports'.
ALTER TABLE source ADD COLUMN precision_m real CHECK (precision_m > 0);
ALTER TABLE camera ADD COLUMN uncertainty_m real;
