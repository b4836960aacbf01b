-- Whether another camera source than %(source_id)s holds reports: only then can this source's
-- reports fuse with another's, and the import's fusion dry run is worth running (alone, every
-- camera is of one source and the count fused is 0 without computing it).
SELECT EXISTS (
    SELECT 1 FROM source s
    WHERE s.entity = 'cameras' AND s.id <> %(source_id)s
      AND EXISTS (SELECT 1 FROM camera_report r WHERE r.source_id = s.id)
)
