-- Each customer of each merchant unit and month with what a profile shows about them: visits
-- and NT$ there, visit frequency, customer type, age band, gender, home district, RFM
-- segment (fixed_segment: the member's alone, see rfm), and where else they spent most. Customer level: only a release reads it
-- (pipelines/merchant_profile/release.py), to bound each member's contribution before noise.
--   customer_type   new (first visit at the unit this month: merchant_first_visits), returning,
--                   or no history (the snapshot's first month, when nothing earlier is known)
--   cross_category  the category the customer spent most NT$ in at other outlets that month
--                   (ties by name), or 'nothing elsewhere'
--   pick            a fixed pseudo-random number for the customer, unit and month, from the
--                   customer's seed (merchant_payers): a release counts each customer at the
--                   units with the smallest picks (the hash halved, to fit a signed BIGINT,
--                   which every engine has)
-- Unregistered cards are 'unregistered'; a member whose birth year, gender or home district
-- the operator does not know is 'unknown'.
WITH segments AS (
    SELECT c.customer, r.month_end, r.fixed_segment AS segment
    FROM rfm r
    JOIN merchant_customers c USING (member_id)
),
spend AS (
    SELECT v.customer, v.month, u.category, sum(v.amount_ntd) AS ntd
    FROM merchant_visits v
    JOIN merchant_units u USING (unit)
    WHERE v.unit > 0
    GROUP BY ALL
),
elsewhere AS (
    SELECT v.unit, v.customer, v.month, s.category,
           s.ntd - CASE WHEN s.category = u.category THEN v.amount_ntd ELSE 0 END AS ntd
    FROM merchant_visits v
    JOIN merchant_units u USING (unit)
    JOIN spend s USING (customer, month)
),
seeds AS (
    SELECT DISTINCT customer, seed FROM merchant_payers
),
firsts AS (
    SELECT unit, customer, first_month FROM merchant_first_visits WHERE first_month >= CAST($since AS DATE)
),
main AS (
    SELECT unit, customer, month, first(category ORDER BY ntd DESC, category) AS category
    FROM elsewhere
    WHERE ntd > 0
    GROUP BY ALL
)
SELECT
    v.unit,
    v.customer,
    v.month,
    v.visits,
    v.amount_ntd,
    CASE WHEN v.visits = 1 THEN '1' WHEN v.visits = 2 THEN '2' WHEN v.visits <= 4 THEN '3-4' ELSE '5+' END
        AS visit_frequency,
    CASE WHEN v.month = date_trunc('month', CAST($period_start AS DATE)) THEN 'no history'
         WHEN f.first_month = v.month THEN 'new' ELSE 'returning' END AS customer_type,
    CASE WHEN c.customer IS NULL THEN 'unregistered' WHEN c.birth_year IS NULL THEN 'unknown'
         WHEN year(v.month) - c.birth_year < 20 THEN '14-19' WHEN year(v.month) - c.birth_year < 30 THEN '20-29'
         WHEN year(v.month) - c.birth_year < 40 THEN '30-39' WHEN year(v.month) - c.birth_year < 50 THEN '40-49'
         WHEN year(v.month) - c.birth_year < 65 THEN '50-64' ELSE '65+' END AS age_band,
    CASE WHEN c.customer IS NULL THEN 'unregistered' ELSE coalesce(c.gender, 'unknown') END AS gender,
    CASE WHEN c.customer IS NULL THEN 'unregistered' ELSE coalesce(c.district, 'unknown') END AS home_district,
    coalesce(s.segment, CASE WHEN c.customer IS NULL THEN 'unregistered' ELSE 'not scored' END) AS segment,
    coalesce(m.category, 'nothing elsewhere') AS cross_category,
    CAST(md5_number_lower(concat(d.seed, ' ', v.unit, ' ', v.month)) // 2 AS BIGINT) AS pick
FROM merchant_visits v
JOIN seeds d ON d.customer = v.customer
LEFT JOIN merchant_customers c ON c.customer = v.customer
LEFT JOIN segments s ON s.customer = v.customer AND s.month_end = last_day(v.month)
LEFT JOIN main m ON m.unit = v.unit AND m.customer = v.customer AND m.month = v.month
LEFT JOIN firsts f ON f.unit = v.unit AND f.customer = v.customer
