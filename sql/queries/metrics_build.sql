-- /metrics: the newest finished build (the one readers see, as in tile_mvt.sql), when it
-- finished (Unix time) and how long it took. No parameters. started_at is the build
-- transaction's start and finished_at its last statement's clock, so the difference is the
-- whole build.
SELECT snapshot,
       extract(epoch FROM finished_at)::float8,
       extract(epoch FROM finished_at - started_at)::float8
FROM build
WHERE finished_at IS NOT NULL
ORDER BY id DESC
LIMIT 1
