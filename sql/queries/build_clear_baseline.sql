-- A build that keeps the map (only addresses changed, ingest/build.py): only the baseline goes
-- (DELETE, not TRUNCATE, as build_clear.sql); hexagons, cameras and site counts stay.
DELETE FROM baseline;
