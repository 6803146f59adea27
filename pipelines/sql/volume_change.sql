-- Rows per day of the declared period in this snapshot and in the previous one, per table.
-- Views of the previous snapshot live in schema "previous"; entity tables compare row counts.
WITH now_rows AS (
    SELECT 'members' AS table_name, count(*)::DOUBLE AS n, 1 AS per_day FROM main.members
    UNION ALL SELECT 'merchants', count(*), 1 FROM main.merchants
    UNION ALL SELECT 'cards', count(*), 1 FROM main.cards
    UNION ALL SELECT 'trips', count(*), $days FROM main.trips
    UNION ALL SELECT 'purchases', count(*), $days FROM main.purchases
    UNION ALL SELECT 'bill_payments', count(*), $days FROM main.bill_payments
    UNION ALL SELECT 'transfers', count(*), $days FROM main.transfers
),
previous_rows AS (
    SELECT 'members' AS table_name, count(*)::DOUBLE AS n, 1 AS per_day FROM previous.members
    UNION ALL SELECT 'merchants', count(*), 1 FROM previous.merchants
    UNION ALL SELECT 'cards', count(*), 1 FROM previous.cards
    UNION ALL SELECT 'trips', count(*), $previous_days FROM previous.trips
    UNION ALL SELECT 'purchases', count(*), $previous_days FROM previous.purchases
    UNION ALL SELECT 'bill_payments', count(*), $previous_days FROM previous.bill_payments
    UNION ALL SELECT 'transfers', count(*), $previous_days FROM previous.transfers
)
SELECT
    n.table_name,
    n.n / n.per_day AS rows_per_day,
    p.n / p.per_day AS previous_rows_per_day,
    (n.n / n.per_day) / nullif(p.n / p.per_day, 0) AS rows_per_day_ratio
FROM now_rows n
JOIN previous_rows p USING (table_name)
ORDER BY n.table_name
