-- Per event table and calendar month: rows, and active payers (distinct card or wallet account
-- that paid, or sent) with at least one row that month. The volume checks are read from this
-- one pass per table: events per active payer-month, and each month against the median month.
SELECT 'trips' AS table_name, date_trunc('month', tap_in_at) AS month, count(*) AS rows,
       count(DISTINCT card_id) AS payers
FROM trips GROUP BY ALL
UNION ALL
SELECT 'purchases', date_trunc('month', purchased_at), count(*), count(DISTINCT coalesce(card_id, account_id))
FROM purchases GROUP BY ALL
UNION ALL
SELECT 'bill_payments', date_trunc('month', paid_at), count(*), count(DISTINCT account_id)
FROM bill_payments GROUP BY ALL
UNION ALL
SELECT 'transfers', date_trunc('month', transferred_at), count(*), count(DISTINCT from_account_id)
FROM transfers GROUP BY ALL
