-- The hour_of_week dimension of merchant_cells (see there) per unit key and month.
-- merchant_paid has one row per outlet, customer, month and hour: counting rows counts customers.
WITH hours AS (
    SELECT outlet AS unit, month, dow, hour, purchases, amount_ntd FROM merchant_paid
    UNION ALL
    SELECT u.chain, p.month, p.dow, p.hour, sum(p.purchases), sum(p.amount_ntd)
    FROM merchant_paid p
    JOIN merchant_units u ON u.unit = p.outlet
    WHERE u.chain IS NOT NULL
    GROUP BY u.chain, p.month, p.dow, p.hour, p.customer
)
SELECT
    unit, month, 'hour_of_week' AS dimension,
    CAST(dow AS VARCHAR) || '-' || lpad(CAST(hour AS VARCHAR), 2, '0') AS value,
    customers, transactions, revenue_ntd
FROM (
    SELECT unit, month, dow, hour, count(*) AS customers,
        CAST(sum(purchases) AS BIGINT) AS transactions, CAST(sum(amount_ntd) AS BIGINT) AS revenue_ntd
    FROM hours
    GROUP BY ALL
)
