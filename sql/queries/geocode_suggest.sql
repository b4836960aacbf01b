-- Nearest trigram matches for a query that found nothing (the caller lowers the threshold),
-- among the addresses a search can match (those with a street).
-- %(q)s: the query as typed; %(limit)s.
WITH q AS (SELECT camdensity_normalize(%(q)s) AS s)
SELECT label, max(word_similarity(q.s, a.search)) AS ws
FROM address a, q
WHERE q.s <%% a.search AND a.street IS NOT NULL  -- as the search: only what can match
GROUP BY label
ORDER BY ws DESC, label
LIMIT %(limit)s
