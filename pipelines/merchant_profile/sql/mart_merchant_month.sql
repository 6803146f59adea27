-- Headline per merchant unit and month: distinct customers, transactions, NT$, average ticket,
-- with the unit's category and district (an outlet's own; a chain's most common).
WITH totals AS (
    SELECT
        unit, month,
        count(*) AS customers,
        CAST(sum(visits) AS BIGINT) AS transactions,
        CAST(sum(amount_ntd) AS BIGINT) AS revenue_ntd
    FROM merchant_visits
    GROUP BY ALL
)
SELECT
    u.level, u.unit_id, t.month, t.customers, t.transactions, t.revenue_ntd,
    round(t.revenue_ntd / t.transactions, 1) AS average_ticket_ntd, u.unit_name, u.category, u.district_id
FROM totals t
JOIN merchant_units u USING (unit)
