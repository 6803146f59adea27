-- The customer rows a release counts ($units: the release's unit keys and months). Each
-- customer counts in at most $max_units of them (those they visited most; then by NT$, then
-- by key), whatever the release holds: this bounds what one member can change in a release
-- (pipelines/privacy/accounting.py). Their visits and NT$ are capped later, with the rest.
WITH visited AS (
    SELECT c.*
    FROM merchant_customer_month c
    SEMI JOIN query_table($units) r ON r.unit = c.unit AND r.month = c.month
)
SELECT * EXCLUDE (rank)
FROM (SELECT *, row_number() OVER (PARTITION BY customer ORDER BY visits DESC, amount_ntd DESC, unit, month) AS rank FROM visited)
WHERE rank <= $max_units
