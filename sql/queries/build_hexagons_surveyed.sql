-- Survey evidence on the map (after build_hexagons): a surveyed cell with no camera shown
-- becomes a hexagon of 0 cameras, and every surveyed cell is flagged, so "no camera seen"
-- (surveyed, 0) differs from "nobody looked" (no hexagon). A cell whose only cameras are
-- withheld private ones reads as surveyed-empty, as empty land would. No parameters.
INSERT INTO hexagon (h3, resolution, cameras, area_km2, density_km2,
                     d_clinic, d_abortion, d_school, d_immigration, d_courthouse, d_worship,
                     d_shelter, geom, geom_3857, surveyed)
SELECT s.h3, s.resolution, 0, s.area_km2, 0,
       d.clinic, d.abortion, d.school, d.immigration, d.courthouse, d.worship, d.shelter,
       g.geom, ST_Transform(g.geom, 3857), true
FROM _survey_cell s
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_GeomFromWKB(s.wkb), 4326) AS geom) g
LEFT JOIN _cell_nearest d ON d.resolution = s.resolution AND d.h3 = s.h3
WHERE NOT EXISTS (SELECT 1 FROM hexagon h WHERE h.resolution = s.resolution AND h.h3 = s.h3);
UPDATE hexagon h SET surveyed = true
FROM _survey_cell s
WHERE h.resolution = s.resolution AND h.h3 = s.h3 AND NOT h.surveyed;
