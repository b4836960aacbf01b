-- Private devices the privacy rule left out (cells below the minimum), recorded per built
-- resolution for `camdensity stats` (the same figure at each: the rule works at one resolution).
-- Never published: a city total that moves with one camera would tell that it exists.
-- Parameters: resolutions, withheld.
INSERT INTO hexagon_withheld (resolution, cameras)
SELECT r.resolution, %(withheld)s
FROM unnest(%(resolutions)s::smallint[]) AS r(resolution)
