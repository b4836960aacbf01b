-- Offline geocoder: addresses whose normalised label contains something like the normalised
-- query (pg_trgm word similarity; its operator uses the GIN trigram index), best first.
-- A candidate must have its street found in the query (`ss`, the street's word similarity
-- within the query, at least %(street_min)s): the city or postcode alone ("helsinki", "00100",
-- "foobar 5 helsinki") matches every address of the city and so locates nothing.
-- A number in the query equal to the address's house number (or inside its range, "11-13")
-- is a strong bonus; a number equal to its postcode is not a house number asked for.
-- %(q)s: the query as typed; %(street_min)s; %(limit)s. The caller sets
-- pg_trgm.word_similarity_threshold (the index prefilter on the whole label).
WITH q AS (
    SELECT s,
           -- number tokens: "12", "12a", "5 b" (as "5b"), "11-13", "00100"
           ARRAY(SELECT replace(m[1], ' ', '')
                 FROM regexp_matches(
                     s, '(?:^|[\s,])(\d{1,5}(?:\s?[a-z]|-\d{1,5})?)(?=[\s,]|$)', 'g') AS m)
               AS nums
    FROM camdensity_normalize(%(q)s) AS s
), hit AS (
    SELECT a.id, a.label, a.street, a.city, a.geom,
           word_similarity(q.s, a.search) AS ws,
           word_similarity(camdensity_normalize(a.street), q.s) AS ss,
           EXISTS (SELECT 1 FROM unnest(q.nums) n WHERE n IS DISTINCT FROM a.postcode) AS hn_asked,
           coalesce(
               hn.n = ANY (q.nums)
               OR EXISTS (SELECT 1 FROM unnest(q.nums) n
                          WHERE n ~ '^\d+$' AND n::int BETWEEN hn.r[1]::int AND hn.r[2]::int),
               false) AS hn_match
    FROM address a
    CROSS JOIN q
    CROSS JOIN LATERAL (
        SELECT x AS n, regexp_match(x, '^(\d{1,5})-(\d{1,5})$') AS r
        FROM replace(camdensity_normalize(a.housenumber), ' ', '') AS x
    ) hn
    WHERE q.s <%% a.search AND a.street IS NOT NULL
)
SELECT label, street, city, ST_X(geom) AS lon, ST_Y(geom) AS lat, ws, ss, hn_asked, hn_match
FROM hit
WHERE ss >= %(street_min)s
ORDER BY ss + ws + CASE WHEN hn_match THEN 0.25 ELSE 0 END DESC, id
LIMIT %(limit)s
