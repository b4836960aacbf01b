-- Offline geocoder: the candidate streets for a query, one row per street and city, best first,
-- with what the caller decides on (service/geocode.py documents the rule).
--
-- Two ways to find candidates, exactly one taken per query (%(fields)s):
-- * fields (a US street address, split by usaddress): the typed street goes through the same
--   address_standardizer as the stored ones (camdensity_street_parts). A stored street is a
--   candidate when its bare name is like the typed one (trigrams: typos) or equals a run of
--   1-3 of its words (the city run into the street: "ocean prkway brooklyn"); a numbered
--   street ("48") only by the exact number, so "E 10 St" is never "E 108th St"; directionals
--   and street types, when both sides have one, must agree ("Ocean Pkwy" is not "Ocean Ave").
--   The fuzzy pass (%(fuzzy)s, run when the first finds nothing) compares names by edit
--   distance (at most 1 for names up to 4 letters, else 2) within the query's ZIP or city:
--   a letter dropped or swapped in a short name leaves too few trigrams in common.
-- * text (anything else, e.g. "Yrjönkatu 30, Helsinki"): the whole normalised query is looked
--   for in each address's label, and the address's street must be found in the query
--   (%(street_min)s): a city or postcode alone ("helsinki", "00100") matches every address
--   and so locates nothing. Number tokens of the query are the house numbers asked for,
--   except one equal to the address's postcode.
--
-- Per street and city: `ss` street score 0..1; `hn_asked`; `zip_ok`/`city_ok` (NULL: the query
-- gave none, or the data has none); `matches`, the addresses whose house number is the one
-- asked for (equal, or inside a range "11-13"), as JSON; and the street's extent (centroid,
-- radius in metres, count) over its addresses in the query's ZIP when any is, else over all,
-- or the point interpolated between the nearest numbers below and above the one asked for.
--
-- %(fields)s, %(fuzzy)s booleans; %(street)s typed street, %(hn)s house number (fields path),
-- %(zip)s, %(city)s (NULL when absent); %(q)s the query as typed (text path); %(street_min)s;
-- %(limit)s; %(max_gap_m)s.
-- The caller sets pg_trgm.similarity_threshold and word_similarity_threshold (the prefilters).
WITH q AS (
    SELECT p.std, p.name, p.dir, p.type,
           camdensity_housenumber(%(hn)s) AS hn,
           camdensity_postcode(%(zip)s) AS zip,
           camdensity_city(%(city)s) AS city,
           camdensity_normalize(%(q)s) AS s,
           -- runs of 1-3 words of the typed name
           ARRAY(SELECT array_to_string(w[i:j], ' ')
                 FROM string_to_array(p.name, ' ') AS w,
                      generate_series(1, cardinality(w)) AS i,
                      generate_series(i, least(i + 2, cardinality(w))) AS j) AS spans,
           -- number tokens: "12", "12a", "5 b" (as "5b"), "11-13", "00100"
           ARRAY(SELECT replace(m[1], ' ', '')
                 FROM regexp_matches(camdensity_normalize(%(q)s),
                                     '(?:^|[\s,])(\d{1,5}(?:\s?[a-z]|-\d{1,5})?)(?=[\s,]|$)', 'g')
                      AS m) AS nums
    FROM camdensity_street_parts(%(street)s) AS p
), fields_hit AS (
    SELECT a.*,
           greatest(similarity(a.street_name, q.name),
                    (SELECT max(1 - levenshtein(a.street_name, sp)::float8
                                    / greatest(length(a.street_name), length(sp)))
                     FROM unnest(q.spans) sp))
           -- the type, when the query's is not one the standardiser knows ("prkway")
           * CASE WHEN q.type IS NOT NULL OR a.street_type IS NULL THEN 1
                  ELSE 0.7 + 0.3 * word_similarity(a.street_type, q.std) END
           -- a directional on one side only: left out of the query ("Mosholu Pkwy" for "W
           -- Mosholu Pkwy") is common; one the data does not have ("W 114 St" for "114 St",
           -- another borough) is another street, most likely
           * CASE WHEN (a.street_dir IS NULL) = (q.dir IS NULL) THEN 1
                  WHEN q.dir IS NULL THEN 0.9 ELSE 0.45 END AS ss,
           q.hn IS NOT NULL AS hn_asked,
           ARRAY[q.hn] AS nums,
           CASE WHEN q.zip IS NULL OR a.postcode_std IS NULL THEN NULL
                ELSE a.postcode_std = q.zip END AS zip_ok,
           CASE WHEN q.city IS NULL OR a.city_std IS NULL THEN NULL
                ELSE a.city_std = q.city OR similarity(a.city_std, q.city) >= 0.6 END AS city_ok
    FROM address a CROSS JOIN q
    WHERE %(fields)s
      AND ((NOT %(fuzzy)s AND (a.street_name %% q.name OR a.street_name = ANY (q.spans)))
           OR (%(fuzzy)s AND (a.postcode_std = q.zip OR a.city_std = q.city)
               AND EXISTS (SELECT 1 FROM unnest(q.spans) sp
                           WHERE levenshtein_less_equal(a.street_name, sp, 2)
                                 <= CASE WHEN length(sp) <= 4 THEN 1 ELSE 2 END)))
      AND (a.street_name !~ '^\d+$' OR a.street_name = ANY (q.spans))
      AND (a.street_dir IS NULL OR q.dir IS NULL OR a.street_dir = q.dir)
      AND (a.street_type IS NULL OR q.type IS NULL OR a.street_type = q.type)
), text_hit AS (
    SELECT a.*,
           (word_similarity(q.s, a.search) + word_similarity(camdensity_normalize(a.street), q.s))
               / 2 AS ss,
           EXISTS (SELECT 1 FROM unnest(q.nums) n WHERE n IS DISTINCT FROM a.postcode_std)
               AS hn_asked,
           q.nums,
           CASE WHEN a.postcode_std = ANY (q.nums) THEN true
                WHEN q.zip IS NULL OR a.postcode_std IS NULL THEN NULL
                ELSE a.postcode_std = q.zip END AS zip_ok,
           CASE WHEN q.city IS NULL OR a.city_std IS NULL THEN NULL
                ELSE a.city_std = q.city OR similarity(a.city_std, q.city) >= 0.6 END AS city_ok
    FROM address a CROSS JOIN q
    WHERE NOT %(fields)s AND q.s <%% a.search AND a.street IS NOT NULL
      AND word_similarity(camdensity_normalize(a.street), q.s) >= %(street_min)s
), hit AS (
    SELECT h.*,
           -- the city a street is grouped by; an address without one (or with a non-name such
           -- as OSM's addr:city=7) joins its street's named city
           coalesce(CASE WHEN h.city_std ~ '[a-z]' THEN h.city_std END,
                    max(CASE WHEN h.city_std ~ '[a-z]' THEN h.city_std END)
                        OVER (PARTITION BY h.street_std)) AS ckey,
           coalesce(h.hn = ANY (h.nums)
                    OR EXISTS (SELECT 1 FROM unnest(h.nums) n
                               WHERE n ~ '^\d+$' AND r IS NOT NULL
                                 AND n::int BETWEEN r[1]::int AND r[2]::int), false) AS hn_match
    FROM (SELECT * FROM fields_hit UNION ALL SELECT * FROM text_hit) h
    CROSS JOIN LATERAL regexp_match(h.hn, '^(\d{1,5})-(\d{1,5})$') AS r
    WHERE h.street IS NOT NULL
), grp AS (
    SELECT street_std, ckey,
           mode() WITHIN GROUP (ORDER BY street) AS street,
           mode() WITHIN GROUP (ORDER BY city) FILTER (WHERE city ~ '[[:alpha:]]') AS city,
           max(ss) AS ss, bool_or(hn_asked) AS hn_asked,
           bool_or(zip_ok) AS zip_ok, bool_or(city_ok) AS city_ok,
           jsonb_agg(jsonb_build_object('label', label, 'lon', ST_X(geom), 'lat', ST_Y(geom),
                                        'zip_ok', zip_ok) ORDER BY zip_ok DESC NULLS LAST, id)
               FILTER (WHERE hn_match) AS matches
    FROM hit
    GROUP BY street_std, ckey
    ORDER BY max(ss) DESC, street_std, ckey
    LIMIT %(limit)s
)
SELECT g.*, coalesce(ST_X(b.p), ST_X(e.c)) AS lon, coalesce(ST_Y(b.p), ST_Y(e.c)) AS lat, e.n,
       coalesce(b.gap_m,
                (SELECT max(ST_Distance(h.geom::geography, e.c::geography))
                 FROM hit h
                 WHERE h.street_std = g.street_std AND h.ckey IS NOT DISTINCT FROM g.ckey
                   AND (h.zip_ok OR NOT coalesce(g.zip_ok, false)))) AS radius_m,
       b.p IS NOT NULL AS interpolated
FROM grp g
CROSS JOIN LATERAL (
    SELECT ST_Centroid(ST_Collect(h.geom)) AS c, count(*) AS n
    FROM hit h
    WHERE h.street_std = g.street_std AND h.ckey IS NOT DISTINCT FROM g.ckey
      AND (h.zip_ok OR NOT coalesce(g.zip_ok, false))  -- in the query's ZIP when any is
) e
-- A number asked for but not there, between two known numbers of the street: the point is
-- interpolated between them, and the gap between them is the radius (numbers run along a
-- street); only when that gap is under %(max_gap_m)s, else the street's extent says more.
LEFT JOIN LATERAL (
    SELECT ST_LineInterpolatePoint(ST_MakeLine(lo.geom, hi.geom),
                                   (qk.k - lo.k) / (hi.k - lo.k)) AS p,
           ST_Distance(lo.geom::geography, hi.geom::geography) AS gap_m
    FROM (SELECT camdensity_hn_key(q.hn) AS k FROM q) qk
    CROSS JOIN LATERAL (
        SELECT h.geom, camdensity_hn_key(h.hn) AS k FROM hit h
        WHERE h.street_std = g.street_std AND h.ckey IS NOT DISTINCT FROM g.ckey
          AND (h.zip_ok OR NOT coalesce(g.zip_ok, false))
          AND camdensity_hn_key(h.hn) < qk.k
        ORDER BY 2 DESC LIMIT 1) lo
    CROSS JOIN LATERAL (
        SELECT h.geom, camdensity_hn_key(h.hn) AS k FROM hit h
        WHERE h.street_std = g.street_std AND h.ckey IS NOT DISTINCT FROM g.ckey
          AND (h.zip_ok OR NOT coalesce(g.zip_ok, false))
          AND camdensity_hn_key(h.hn) > qk.k
        ORDER BY 2 LIMIT 1) hi
    WHERE g.matches IS NULL AND %(fields)s
      AND ST_Distance(lo.geom::geography, hi.geom::geography) < %(max_gap_m)s
) b ON true
ORDER BY g.ss DESC, g.street_std, g.ckey
