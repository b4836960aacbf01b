-- Working table of one build (dropped at commit), after build_setup: the cells holding a
-- surveyed location (a count-0 row, or any row of a source that records them) per
-- resolution, with each cell's area, centre and polygon (WKB).
DROP TABLE IF EXISTS _survey_cell;
CREATE TEMP TABLE _survey_cell (
    resolution smallint NOT NULL,
    h3         bigint NOT NULL,
    area_km2   double precision NOT NULL,
    lon        double precision NOT NULL,
    lat        double precision NOT NULL,
    wkb        bytea NOT NULL,
    PRIMARY KEY (resolution, h3)
) ON COMMIT DROP;
