-- Customer-level facts, computed once and reused by every merchant figure: one row per
-- merchant unit (each outlet, and each chain brand over all its outlets), customer and month,
-- with visits, NT$ and the customer's first month at the unit within the snapshot.
WITH units AS (
    SELECT 'outlet' AS level, merchant_id AS unit_id, month, customer_id, amount FROM merchant_paid
    UNION ALL
    SELECT 'chain', brand_id, month, customer_id, amount FROM merchant_paid WHERE brand_id IS NOT NULL
),
visits AS (
    SELECT level, unit_id, customer_id, month, count(*) AS visits, CAST(sum(amount) AS BIGINT) AS amount_ntd
    FROM units
    GROUP BY ALL
),
firsts AS (
    SELECT level, unit_id, customer_id, min(month) AS first_month
    FROM visits
    GROUP BY ALL
)
SELECT v.*, f.first_month
FROM visits v
JOIN firsts f USING (level, unit_id, customer_id)
