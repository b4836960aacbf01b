-- How long each source version's import took (seconds, from the import transaction's start to
-- its counts being written); /metrics shows it as camdensity_ingest_duration_seconds.
ALTER TABLE source_version ADD COLUMN IF NOT EXISTS seconds double precision;
