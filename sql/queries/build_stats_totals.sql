-- Store-wide totals: fused camera points, their devices, reports, addresses, exposure rows.
SELECT (SELECT count(*) FROM camera)::integer AS camera_points,
       (SELECT coalesce(sum(count), 0) FROM camera)::bigint AS cameras,
       (SELECT count(*) FROM camera_report)::integer AS camera_reports,
       (SELECT count(*) FROM camera WHERE n_sources > 1)::integer AS multi_source,
       (SELECT count(*) FROM address)::integer AS addresses,
       (SELECT count(*) FROM site_exposure)::integer AS sites_with_exposure,
       (SELECT count(DISTINCT h3) FROM baseline)::integer AS baseline_cells
