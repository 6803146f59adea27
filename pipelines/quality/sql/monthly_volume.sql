-- Rows per day of every calendar month of the period (days counted inside the period, so a
-- month cut short is not a drop) per event table of a present scene ($tables), and that
-- against the table's median month: a month missing or half-loaded stands out.
WITH grid AS (
    SELECT t.table_name, m.month, m.days
    FROM period_month_days m
    CROSS JOIN (SELECT unnest(CAST($tables AS VARCHAR[])) AS table_name) t
),
rates AS (
    SELECT g.table_name, g.month, coalesce(v.rows, 0) / g.days AS rows_per_day
    FROM grid g
    LEFT JOIN volume_by_month v ON v.table_name = g.table_name AND v.month = g.month
)
SELECT
    table_name,
    CAST(month AS DATE) AS month,
    rows_per_day,
    rows_per_day / nullif(median(rows_per_day) OVER (PARTITION BY table_name), 0) AS share_of_median_month
FROM rates
ORDER BY table_name, month
