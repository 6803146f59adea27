-- Customer-level visits: one row per merchant unit (each outlet, and each chain over all its
-- outlets), customer and month being computed, with visits (purchases) and NT$.
WITH outlets AS (
    SELECT outlet AS unit, customer, month, CAST(sum(purchases) AS BIGINT) AS visits, CAST(sum(amount_ntd) AS BIGINT) AS amount_ntd
    FROM merchant_paid
    GROUP BY ALL
)
SELECT * FROM outlets
UNION ALL
SELECT u.chain, o.customer, o.month, CAST(sum(o.visits) AS BIGINT), CAST(sum(o.amount_ntd) AS BIGINT)
FROM outlets o
JOIN merchant_units u USING (unit)
WHERE u.chain IS NOT NULL
GROUP BY ALL
