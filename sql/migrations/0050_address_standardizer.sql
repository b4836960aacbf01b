-- Standardised address fields for the offline geocoder (issue 9): both the stored addresses and
-- the queries go through the same PostGIS address_standardizer (US lexicon, gazetteer and rules
-- from address_standardizer_data_us), so "E 10 St", "East 10th Street" and "EAST 10 STREET"
-- become one street, "Pkwy"/"Parkway", "Av"/"Ave"/"Avenue" one type. Names it cannot parse
-- (Finnish streets, anything outside its lexicon's shape) fall back to the plain normalised
-- text, which is what the geocoder matched on before.
CREATE EXTENSION IF NOT EXISTS address_standardizer;
CREATE EXTENSION IF NOT EXISTS address_standardizer_data_us;
-- levenshtein: a typo in a short street name ("ocan" for "ocean") shares too few trigrams.
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

-- A street as the standardiser writes it (std "west 48 street"), its bare name ("48"), its
-- directionals ("west"; pre and post) and its type ("street"; pre or post). The standardiser
-- is given "1 <street>" as the micro part (it needs a house number to anchor on) and no macro
-- part. STABLE, not IMMUTABLE: it reads the us_lex/us_gaz/us_rules tables. A set-returning
-- SQL function (one row), so the planner inlines it into the calling statement: the
-- standardiser loads its lexicon once per statement (~40 ms), not once per call, so use it
-- in FROM / LATERAL, never in a per-row trigger.
CREATE OR REPLACE FUNCTION camdensity_street_parts(street text)
RETURNS TABLE (std text, name text, dir text, type text)
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS
$$
SELECT CASE WHEN coalesce(s.name, '') = '' THEN t.n
            ELSE lower(concat_ws(' ', s.predir, s.qual, s.pretype, s.name, s.suftype, s.sufdir))
       END,
       CASE WHEN coalesce(s.name, '') = '' THEN t.n ELSE lower(s.name) END,
       nullif(lower(concat_ws(' ', s.predir, s.sufdir)), ''),
       nullif(lower(coalesce(s.suftype, s.pretype)), '')
FROM (SELECT nullif(btrim(regexp_replace(camdensity_normalize(street), '[^a-z0-9 ''-]+', ' ',
                                         'g')), '') AS n) t
LEFT JOIN LATERAL public.standardize_address('us_lex', 'us_gaz', 'us_rules', '1 ' || t.n, '') s
       ON t.n IS NOT NULL
$$;

-- A house number as compared: lower case, no spaces ("5 B" -> "5b", "104-12" stays).
CREATE OR REPLACE FUNCTION camdensity_housenumber(hn text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS
$$ SELECT nullif(replace(camdensity_normalize(hn), ' ', ''), '') $$;

-- A house number's place in its street's order, for interpolating a missing one: "12" and
-- "12b" -> 12, a Queens-style "104-12" -> 104012 (block 104, house 12); NULL when no number.
CREATE OR REPLACE FUNCTION camdensity_hn_key(hn text) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS
$$
SELECT CASE WHEN m[2] IS NOT NULL THEN m[1]::float8 * 1000 + m[2]::float8 ELSE m[1]::float8 END
FROM regexp_match(hn, '^(\d{1,6})(?:-(\d{1,3}))?') AS m
$$;

-- A postcode as compared: US ZIP+4 to its five digits, else lower case without spaces.
CREATE OR REPLACE FUNCTION camdensity_postcode(pc text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS
$$
SELECT nullif(CASE WHEN p ~ '^\d{5}-?\d{4}$' THEN left(p, 5) ELSE p END, '')
FROM replace(camdensity_normalize(pc), ' ', '') AS p
$$;

-- Other names of a city or borough, as people and datasets write them. Data, not rules: the
-- names the data of this project meets (New York's boroughs and their county names).
CREATE TABLE address_city_alias (
    alias text PRIMARY KEY,   -- normalised (camdensity_normalize)
    city  text NOT NULL       -- the name it stands for, normalised
);
INSERT INTO address_city_alias (alias, city) VALUES
    ('new york', 'manhattan'), ('new york city', 'manhattan'), ('nyc', 'manhattan'),
    ('new york county', 'manhattan'), ('kings', 'brooklyn'), ('kings county', 'brooklyn'),
    ('richmond', 'staten island'), ('richmond county', 'staten island'),
    ('the bronx', 'bronx'), ('bronx county', 'bronx'), ('queens county', 'queens'),
    ('helsingfors', 'helsinki');

-- A city as compared: normalised, an alias replaced by the name it stands for.
CREATE OR REPLACE FUNCTION camdensity_city(city text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE STRICT AS
$$
SELECT coalesce((SELECT a.city FROM address_city_alias a WHERE a.alias = c), nullif(c, ''))
FROM btrim(regexp_replace(camdensity_normalize(city), '[^a-z0-9 ]+', ' ', 'g')) AS c
$$;

ALTER TABLE address
    ADD COLUMN street_std   text,   -- camdensity_street_parts(street).std
    ADD COLUMN street_name  text,   -- camdensity_street_parts(street).name
    ADD COLUMN street_dir   text,   -- camdensity_street_parts(street).dir
    ADD COLUMN street_type  text,   -- camdensity_street_parts(street).type
    ADD COLUMN hn           text,   -- camdensity_housenumber(housenumber)
    ADD COLUMN postcode_std text,   -- camdensity_postcode(postcode)
    ADD COLUMN city_std     text;   -- camdensity_city(city)

-- The import computes the fields set-based (ingest_addresses.sql); any other insert (a seed, a
-- hand edit) that leaves them empty gets them here, row by row (slow: the standardiser loads
-- its lexicon per row, fine for a few rows).
CREATE OR REPLACE FUNCTION camdensity_address_fields() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
    IF NEW.street_std IS NULL AND NEW.street IS NOT NULL THEN
        SELECT p.std, p.name, p.dir, p.type
        INTO NEW.street_std, NEW.street_name, NEW.street_dir, NEW.street_type
        FROM camdensity_street_parts(NEW.street) p;
    END IF;
    NEW.hn := coalesce(NEW.hn, camdensity_housenumber(NEW.housenumber));
    NEW.postcode_std := coalesce(NEW.postcode_std, camdensity_postcode(NEW.postcode));
    NEW.city_std := coalesce(NEW.city_std, camdensity_city(NEW.city));
    RETURN NEW;
END
$$;
CREATE TRIGGER address_fields BEFORE INSERT ON address
    FOR EACH ROW EXECUTE FUNCTION camdensity_address_fields();

-- Addresses imported before this version, set-based.
UPDATE address a
SET street_std = p.std, street_name = p.name, street_dir = p.dir, street_type = p.type,
    hn = camdensity_housenumber(a.housenumber), postcode_std = camdensity_postcode(a.postcode),
    city_std = camdensity_city(a.city)
FROM address a2
CROSS JOIN LATERAL camdensity_street_parts(a2.street) p
WHERE a2.id = a.id;

-- The fields path finds a street by its name: typos through trigrams, words exactly.
CREATE INDEX address_street_name_trgm_idx ON address USING gin (street_name gin_trgm_ops);
CREATE INDEX address_street_name_idx ON address (street_name);
-- The fuzzy pass compares names within the query's ZIP or city.
CREATE INDEX address_postcode_std_idx ON address (postcode_std);
CREATE INDEX address_city_std_idx ON address (city_std);
