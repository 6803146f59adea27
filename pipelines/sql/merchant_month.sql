-- Headline per merchant unit and month: distinct customers, transactions, NT$, average ticket,
-- with the unit's category and district (an outlet's own; a chain's most common).
WITH totals AS (
    SELECT
        level, unit_id, month,
        count(*) AS customers,
        CAST(sum(visits) AS BIGINT) AS transactions,
        CAST(sum(amount_ntd) AS BIGINT) AS revenue_ntd
    FROM merchant_visits
    GROUP BY ALL
),
units AS (
    SELECT 'outlet' AS level, merchant_id AS unit_id, merchant_name AS unit_name, category, district_id FROM merchants
    UNION ALL
    SELECT 'chain', brand_id, any_value(brand_name), mode(category), mode(district_id)
    FROM merchants WHERE brand_id IS NOT NULL
    GROUP BY brand_id
)
SELECT t.*, round(t.revenue_ntd / t.transactions, 1) AS average_ticket_ntd, u.unit_name, u.category, u.district_id
FROM totals t
JOIN units u USING (level, unit_id)
