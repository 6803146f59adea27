-- The hour_of_week dimension of merchant_cells (see there) per unit key and month, over hour
-- rows ($hour_rows: every customer's, or those of the customers a release counts). A customer
-- counts in at most $max_hours hours (those with most purchases; then the earliest in the
-- week; NULL: every hour), with purchases and NT$ capped at $max_visits and $max_spend_ntd.
WITH top AS (
    SELECT *, row_number() OVER (PARTITION BY unit, customer, month ORDER BY purchases DESC, dow, hour) AS rank
    FROM query_table($hour_rows)
)
SELECT
    unit, month, 'hour_of_week' AS dimension,
    CAST(dow AS VARCHAR) || '-' || lpad(CAST(hour AS VARCHAR), 2, '0') AS value,
    count(*) AS customers,
    CAST(sum(least(purchases, $max_visits)) AS BIGINT) AS transactions,
    CAST(sum(least(amount_ntd, $max_spend_ntd)) AS BIGINT) AS revenue_ntd
FROM top
WHERE rank <= coalesce($max_hours, 168)
GROUP BY ALL
