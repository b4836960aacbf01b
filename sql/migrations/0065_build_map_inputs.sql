-- Issue 10: a build records a fingerprint of what its map was computed from (camera reports,
-- sites, survey points, their sources; sql/queries/build_map_inputs.sql), so the next build
-- can tell an addresses-only change (which moves no hexagon) and keep the map as it is.
ALTER TABLE build ADD COLUMN map_inputs text;
