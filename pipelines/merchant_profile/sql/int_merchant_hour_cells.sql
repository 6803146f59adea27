-- The hour_of_week dimension of merchant_cells (see there) per unit key and month, over hour
-- rows ($hour_rows: every customer's, or the hours a release counts of the customers it
-- counts, rpt_release_hours), purchases and NT$ per customer and hour capped at $max_visits
-- and $max_spend_ntd (NULL: not capped).
SELECT
    unit, month, 'hour_of_week' AS dimension,
    CAST(dow AS VARCHAR) || '-' || lpad(CAST(hour AS VARCHAR), 2, '0') AS value,
    count(*) AS customers,
    CAST(sum(least(purchases, $max_visits)) AS BIGINT) AS transactions,
    CAST(sum(least(amount_ntd, $max_spend_ntd)) AS BIGINT) AS revenue_ntd
FROM query_table($hour_rows)
GROUP BY ALL
