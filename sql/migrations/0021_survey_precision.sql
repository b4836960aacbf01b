-- Survey points are searched by geodesic distance (/coverage says whether a survey looked
-- within the radius); each site keeps its devices within 200 m per location uncertainty
-- ({"5000": 12}), so /sites can rank without the coarse ones (max_uncertainty_m) and state
-- the low-precision share.
CREATE INDEX survey_point_geog_idx ON survey_point USING gist ((geom::geography));
ALTER TABLE site_exposure ADD COLUMN uncertain_200m jsonb NOT NULL DEFAULT '{}';
