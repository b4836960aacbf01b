-- Working tables of the distance search (ingest/cells.py cell_distances; dropped at commit):
-- _cand_node: the coarsest level's H3 nodes with their centres and `below`, a bound in metres on
-- the distance from the centre to any cell centre under the node; _cand: (cell, site) pairs
-- left to measure exactly. No parameters.
DROP TABLE IF EXISTS _cand_node, _cand;
CREATE TEMP TABLE _cand_node (
    h3    bigint NOT NULL,
    lon   double precision NOT NULL,
    lat   double precision NOT NULL,
    below double precision NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE _cand (
    resolution smallint NOT NULL,
    h3         bigint NOT NULL,
    lon        double precision NOT NULL,
    lat        double precision NOT NULL,
    site_id    bigint NOT NULL
) ON COMMIT DROP;
