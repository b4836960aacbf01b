-- A fingerprint of everything a build's map (cameras, hexagons, site counts) is computed from:
-- camera reports (not their camera link, which the build writes), sites, survey points and the
-- camera and site sources. Each part is its row count and the sum of 64-bit row hashes, so the
-- order rows are read in does not matter and no row is held. Addresses are left out: they only
-- extend the baseline. No parameters.
SELECT md5(concat_ws('|',
    (SELECT count(*) || ':' || coalesce(sum(('x' || left(md5(ROW(
                r.source_id, r.source_ref, r.line, r.camera_type, r.operator_type, r.operator,
                r.manufacturer, r.mount, r.zone, r.direction, r.direction_deg, r.count, r.attrs,
                r.geom)::text), 16))::bit(64)::bigint::numeric), 0)
     FROM camera_report r),
    (SELECT count(*) || ':' || coalesce(sum(('x' || left(md5(s::text), 16))::bit(64)::bigint
                                            ::numeric), 0)
     FROM site s),
    (SELECT count(*) || ':' || coalesce(sum(('x' || left(md5(p::text), 16))::bit(64)::bigint
                                            ::numeric), 0)
     FROM survey_point p),
    (SELECT count(*) || ':' || coalesce(sum(('x' || left(md5(o::text), 16))::bit(64)::bigint
                                            ::numeric), 0)
     FROM source o WHERE o.entity <> 'addresses')
))
