-- How long each source's newest import took (seconds, from the import transaction's start to
-- its counts being written); /metrics shows it as camdensity_ingest_duration_seconds. On
-- `source` (published to the API role), not `source_version` (import history, not published).
ALTER TABLE source ADD COLUMN IF NOT EXISTS import_seconds double precision;
