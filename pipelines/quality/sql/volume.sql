-- One row per event table of a present scene ($tables): rows, rows per day of the declared
-- period ($days), active payer-months and events per active payer-month.
SELECT
    t.table_name,
    CAST(coalesce(sum(v.rows), 0) AS BIGINT) AS rows,
    coalesce(sum(v.rows), 0) / $days AS rows_per_day,
    CAST(coalesce(sum(v.payers), 0) AS BIGINT) AS payer_months,
    sum(v.rows) / nullif(sum(v.payers), 0) AS per_payer_month
FROM (SELECT unnest(CAST($tables AS VARCHAR[])) AS table_name) t
LEFT JOIN volume_by_month v USING (table_name)
GROUP BY t.table_name
ORDER BY t.table_name
