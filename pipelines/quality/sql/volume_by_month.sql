-- Per event table and calendar month: rows, and active payers (distinct card or wallet account
-- that paid, or sent) with at least one row that month. The volume checks are read from this
-- one pass per table: events per active payer-month, and each month against the median month.
-- Months from $since on are counted here; those before come from volume_by_month_earlier (a
-- monthly extension carries its parent's counts, which its shared files would give again).
SELECT 'trips' AS table_name, CAST(date_trunc('month', tap_in_at) AS DATE) AS month, count(*) AS rows,
       count(DISTINCT card_id) AS payers
FROM trips WHERE tap_in_at >= CAST($since AS TIMESTAMP) GROUP BY ALL
UNION ALL
SELECT 'purchases', CAST(date_trunc('month', purchased_at) AS DATE), count(*),
       count(DISTINCT coalesce(card_id, account_id))
FROM purchases WHERE purchased_at >= CAST($since AS TIMESTAMP) GROUP BY ALL
UNION ALL
SELECT 'bill_payments', CAST(date_trunc('month', paid_at) AS DATE), count(*), count(DISTINCT account_id)
FROM bill_payments WHERE paid_at >= CAST($since AS TIMESTAMP) GROUP BY ALL
UNION ALL
SELECT 'transfers', CAST(date_trunc('month', transferred_at) AS DATE), count(*), count(DISTINCT from_account_id)
FROM transfers WHERE transferred_at >= CAST($since AS TIMESTAMP) GROUP BY ALL
UNION ALL
SELECT table_name, month, rows, payers FROM volume_by_month_earlier WHERE month < CAST($since AS DATE)
