-- Every displayed distribution of every merchant unit and month, in long format (dimension,
-- value, distinct customers, transactions, NT$), for the privacy rules to act on:
--   visit_frequency  customers by visits in the month (1, 2, 3-4, 5+)
--   customer_type    new (first visit at the unit in this month), returning, or no history
--                    (the snapshot's first month, when nothing earlier is known)
--   age_band, gender, home_district, segment (RFM segment at the month end)
--                    unregistered cards count as 'unregistered'
--   hour_of_week     transactions by day of week (1 = Monday) and hour, e.g. '1-08'
--   cross_category   customers who also bought in a category somewhere other than this unit
--                    (a customer may count in several categories: not additive)
WITH described AS (
    SELECT
        v.*,
        mem.gender,
        d.name_en AS district,
        year(v.month) - mem.birth_year AS age,
        r.segment
    FROM merchant_visits v
    LEFT JOIN members mem ON mem.member_id = v.customer_id
    LEFT JOIN districts d ON d.district_id = mem.home_district_id
    LEFT JOIN rfm r ON r.member_id = v.customer_id AND r.month_end = last_day(v.month)
),
customer_cells AS (
    SELECT level, unit_id, month, 'visit_frequency' AS dimension,
        CASE WHEN visits = 1 THEN '1' WHEN visits = 2 THEN '2' WHEN visits <= 4 THEN '3-4' ELSE '5+' END AS value,
        visits, amount_ntd
    FROM described
    UNION ALL
    SELECT level, unit_id, month, 'customer_type',
        CASE WHEN month = CAST($period_start AS DATE) THEN 'no history'
             WHEN first_month = month THEN 'new' ELSE 'returning' END,
        visits, amount_ntd
    FROM described
    UNION ALL
    SELECT level, unit_id, month, 'age_band',
        CASE WHEN age IS NULL THEN 'unregistered' WHEN age < 20 THEN '14-19' WHEN age < 30 THEN '20-29'
             WHEN age < 40 THEN '30-39' WHEN age < 50 THEN '40-49' WHEN age < 65 THEN '50-64' ELSE '65+' END,
        visits, amount_ntd
    FROM described
    UNION ALL
    SELECT level, unit_id, month, 'gender', coalesce(gender, 'unregistered'), visits, amount_ntd FROM described
    UNION ALL
    SELECT level, unit_id, month, 'home_district', coalesce(district, 'unregistered'), visits, amount_ntd
    FROM described
    UNION ALL
    SELECT level, unit_id, month, 'segment',
        coalesce(segment, CASE WHEN gender IS NULL THEN 'unregistered' ELSE 'not scored' END), visits, amount_ntd
    FROM described
),
hour_units AS (
    SELECT 'outlet' AS level, merchant_id AS unit_id, month, dow, hour, customer_id, amount FROM merchant_paid
    UNION ALL
    SELECT 'chain', brand_id, month, dow, hour, customer_id, amount FROM merchant_paid WHERE brand_id IS NOT NULL
),
customer_categories AS (
    SELECT
        customer_id,
        month,
        category,
        count(DISTINCT merchant_id) AS outlets,
        min(merchant_id) AS an_outlet,
        count(DISTINCT coalesce(brand_id, merchant_id)) AS chains,
        min(coalesce(brand_id, merchant_id)) AS a_chain
    FROM merchant_paid
    GROUP BY ALL
)
SELECT
    level, unit_id, month, dimension, value,
    count(*) AS customers,
    CAST(sum(visits) AS BIGINT) AS transactions,
    CAST(sum(amount_ntd) AS BIGINT) AS revenue_ntd
FROM customer_cells
GROUP BY ALL
UNION ALL
SELECT
    level, unit_id, month, 'hour_of_week', CAST(dow AS VARCHAR) || '-' || lpad(CAST(hour AS VARCHAR), 2, '0'),
    count(DISTINCT customer_id), count(*), CAST(sum(amount) AS BIGINT)
FROM hour_units
GROUP BY ALL
UNION ALL
SELECT v.level, v.unit_id, v.month, 'cross_category', c.category, count(*), NULL, NULL
FROM merchant_visits v
JOIN customer_categories c ON c.customer_id = v.customer_id AND c.month = v.month
WHERE (v.level = 'outlet' AND (c.outlets > 1 OR c.an_outlet <> v.unit_id))
   OR (v.level = 'chain' AND (c.chains > 1 OR c.a_chain <> v.unit_id))
GROUP BY ALL
