-- Retention: builds older than the newest %(keep)s lose their history rows; their build row
-- stays, marked pruned_at, so snapshot ids cited elsewhere still name their sources and method.
-- A hexagon history span goes once it ends before the oldest build kept.
WITH kept AS (
    SELECT id FROM build WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT %(keep)s
),
old AS (
    SELECT id FROM build
    WHERE finished_at IS NOT NULL AND pruned_at IS NULL AND id NOT IN (SELECT id FROM kept)
),
sites AS (DELETE FROM site_history h USING old WHERE h.build_id = old.id),
cells AS (DELETE FROM hexagon_history_span s
          WHERE s.last_build < (SELECT min(id) FROM kept))
UPDATE build b SET pruned_at = clock_timestamp() FROM old WHERE b.id = old.id
RETURNING b.snapshot
