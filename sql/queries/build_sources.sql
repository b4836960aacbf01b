-- Provenance recorded with a build: every imported source, in import order.
SELECT coalesce(jsonb_agg(jsonb_build_object(
           'name', name, 'entity', entity, 'kind', kind, 'licence', licence,
           'attribution', attribution, 'sha256', file_sha256, 'imported_at', imported_at,
           'data_date', data_date) ORDER BY id), '[]'::jsonb)
FROM source
