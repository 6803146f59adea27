-- The customer rows a release counts ($units: the release's unit keys and months). Each
-- customer counts in at most $max_units of them, whatever the release holds: this bounds what
-- one member can change in a release (pipelines/privacy/accounting.py). Which ones is a fixed
-- pseudo-random choice (the smallest `pick`, drawn from the customer's own seed, so that no
-- other member's presence changes it), not those they bought most at: choosing by visits
-- would keep regulars and drop one-off visitors, skewing every unit's visit frequency and
-- new-or-returning shares. Visits and NT$ are capped later, with the rest.
WITH visited AS (
    SELECT c.*
    FROM merchant_customer_month c
    SEMI JOIN query_table($units) r ON r.unit = c.unit AND r.month = c.month
)
SELECT * EXCLUDE (rank)
FROM (
    SELECT *, row_number() OVER (PARTITION BY customer ORDER BY pick, unit, month) AS rank
    FROM visited
)
WHERE rank <= $max_units
