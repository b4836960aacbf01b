-- Two builds by snapshot id (%(a)s, %(b)s): id, snapshot, when finished, pruned or not, sources.
SELECT id, snapshot, finished_at, pruned_at, sources
FROM build
WHERE snapshot IN (%(a)s, %(b)s) AND finished_at IS NOT NULL
