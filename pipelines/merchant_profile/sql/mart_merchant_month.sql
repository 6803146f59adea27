-- Headline per merchant unit and month: distinct customers, transactions, NT$, average ticket,
-- with the unit's category and district (an outlet's own; a chain's most common). Over
-- customer rows ($customer_rows: every customer for the mart, or those a release counts),
-- visits and NT$ per customer capped at $max_visits and $max_spend_ntd (NULL: exact).
WITH totals AS (
    SELECT
        unit, month,
        count(*) AS customers,
        CAST(sum(least(visits, $max_visits)) AS BIGINT) AS transactions,
        CAST(sum(least(amount_ntd, $max_spend_ntd)) AS BIGINT) AS revenue_ntd
    FROM query_table($customer_rows)
    GROUP BY ALL
)
SELECT
    u.level, u.unit_id, t.month, t.customers, t.transactions, t.revenue_ntd,
    round(t.revenue_ntd / t.transactions, 1) AS average_ticket_ntd, u.unit_name, u.category, u.district_id
FROM totals t
JOIN merchant_units u USING (unit)
