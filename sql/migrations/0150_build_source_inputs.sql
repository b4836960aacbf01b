-- Issue 10 (incremental builds): a build records a fingerprint per camera source (its reports,
-- ids included, and its source row), the rest of its map inputs (sites, survey points, their
-- sources) and the fused cameras it left (sql/queries/build_incr_inputs.sql), so the next build
-- can tell which sources changed and recompute only the cameras, cells, baseline cells and
-- sites they reach (ingest/incremental.py).
ALTER TABLE build ADD COLUMN source_inputs jsonb;
