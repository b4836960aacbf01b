-- Working table of one build (dropped at commit), after build_setup: the cells holding a
-- surveyed location (a count-0 row, or any row of a source that records them) per
-- resolution, with each cell's area, centre and polygon (WKB), shaped like _cell.
DROP TABLE IF EXISTS _survey_cell;
CREATE TEMP TABLE _survey_cell (LIKE _cell INCLUDING CONSTRAINTS INCLUDING INDEXES) ON COMMIT DROP;
