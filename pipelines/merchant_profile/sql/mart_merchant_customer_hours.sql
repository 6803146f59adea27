-- Each customer of each merchant unit and month by hour of the week (day 1-7 from Monday and
-- hour): purchases and NT$ there in that hour. Customer level: only a release reads it.
SELECT outlet AS unit, customer, month, dow, hour, CAST(purchases AS BIGINT) AS purchases, amount_ntd
FROM merchant_paid
UNION ALL
SELECT u.chain, p.customer, p.month, p.dow, p.hour, CAST(sum(p.purchases) AS BIGINT), CAST(sum(p.amount_ntd) AS BIGINT)
FROM merchant_paid p
JOIN merchant_units u ON u.unit = p.outlet
WHERE u.chain IS NOT NULL
GROUP BY ALL
