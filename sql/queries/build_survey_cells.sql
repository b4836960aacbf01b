-- Surveyed cells no camera fell in join _cell, so their distances to sites are measured and
-- they can become hexagons of 0 cameras ("looked, saw none"). No parameters.
INSERT INTO _cell (resolution, h3, area_km2, lon, lat, wkb)
SELECT s.resolution, s.h3, s.area_km2, s.lon, s.lat, s.wkb
FROM _survey_cell s
WHERE NOT EXISTS (SELECT 1 FROM _cell c WHERE c.resolution = s.resolution AND c.h3 = s.h3)
