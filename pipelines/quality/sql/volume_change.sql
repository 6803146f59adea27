-- Rows per day of the declared period in this snapshot and in the previous one, per table.
-- Views of the previous snapshot live in schema "previous", this one's in "current" (for a
-- snapshot that extends another, its event tables' new days, $days of them: a half-loaded new
-- month shows as half, not diluted by the history it shares); entity tables (per_day false)
-- compare row counts; event tables of a scene either snapshot lacks are left out ($tables:
-- the tables compared).
WITH counted AS (
    SELECT 'members' AS table_name, false AS per_day,
           (SELECT count(*) FROM current.members)::DOUBLE AS n, (SELECT count(*) FROM previous.members)::DOUBLE AS previous_n
    UNION ALL SELECT 'merchants', false, (SELECT count(*) FROM current.merchants), (SELECT count(*) FROM previous.merchants)
    UNION ALL SELECT 'cards', false, (SELECT count(*) FROM current.cards), (SELECT count(*) FROM previous.cards)
    UNION ALL SELECT 'trips', true, (SELECT count(*) FROM current.trips), (SELECT count(*) FROM previous.trips)
    UNION ALL SELECT 'purchases', true, (SELECT count(*) FROM current.purchases), (SELECT count(*) FROM previous.purchases)
    UNION ALL SELECT 'bill_payments', true, (SELECT count(*) FROM current.bill_payments), (SELECT count(*) FROM previous.bill_payments)
    UNION ALL SELECT 'transfers', true, (SELECT count(*) FROM current.transfers), (SELECT count(*) FROM previous.transfers)
),
daily AS (
    SELECT table_name,
           n / CASE WHEN per_day THEN $days ELSE 1 END AS rows_per_day,
           previous_n / CASE WHEN per_day THEN $previous_days ELSE 1 END AS previous_rows_per_day
    FROM counted
)
SELECT table_name, rows_per_day, previous_rows_per_day, rows_per_day / nullif(previous_rows_per_day, 0) AS rows_per_day_ratio
FROM daily
WHERE list_contains(CAST($tables AS VARCHAR[]), table_name)
ORDER BY table_name
