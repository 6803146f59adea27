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
--                   units with the smallest picks. A 32-bit key of the three goes through a
--                   32-bit integer hash (hash32: xor-shift and multiply by 0x45d9f3b, twice,
--                   then xor-shift), in whole numbers that stay under 2^63 and are never
--                   negative, so that every engine computes it alike. (An MD5 of the three
--                   as text took a fifth of this mart at scale 63; this, a hundredth.)
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
-- Each customer's two first categories by NT$ in the month (ties by name) settle where else
-- they spent most at every unit: only at a unit of the first category can the second win.
-- (Joining each visit to every category of its month, then ordering, took 40 % of the mart.)
ranked AS (
    SELECT customer, month, category, ntd,
           row_number() OVER (PARTITION BY customer, month ORDER BY ntd DESC, category) AS r
    FROM spend
),
top2 AS (
    SELECT customer, month,
           max(CASE WHEN r = 1 THEN category END) AS c1, max(CASE WHEN r = 1 THEN ntd END) AS n1,
           max(CASE WHEN r = 2 THEN category END) AS c2, max(CASE WHEN r = 2 THEN ntd END) AS n2
    FROM ranked
    WHERE r <= 2
    GROUP BY ALL
),
seeds AS (
    SELECT DISTINCT customer, seed FROM merchant_payers
),
firsts AS (
    SELECT unit, customer, first_month FROM merchant_first_visits WHERE first_month >= CAST($since AS DATE)
),
keyed AS (
    SELECT v.*,
        (d.seed + (CAST(v.unit AS BIGINT) + 2147483648) * 1640531527
            + (CAST(year(v.month) AS BIGINT) * 12 + month(v.month)) * 40503) % 4294967296 AS k
    FROM merchant_visits v
    JOIN seeds d ON d.customer = v.customer
),
hashed AS (
    SELECT *, (xor(h1, h1 >> 16) * 73244475) % 4294967296 AS h2
    FROM (SELECT *, (xor(k, k >> 16) * 73244475) % 4294967296 AS h1 FROM keyed) k
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
    coalesce(
        CASE WHEN t.c1 IS DISTINCT FROM u.category THEN t.c1
             WHEN t.n1 - v.amount_ntd <= 0 THEN t.c2
             WHEN t.c2 IS NULL OR t.n1 - v.amount_ntd > t.n2 OR (t.n1 - v.amount_ntd = t.n2 AND t.c1 < t.c2) THEN t.c1
             ELSE t.c2 END,
        'nothing elsewhere'
    ) AS cross_category,
    xor(v.h2, v.h2 >> 16) AS pick
FROM hashed v
LEFT JOIN merchant_customers c ON c.customer = v.customer
LEFT JOIN segments s ON s.customer = v.customer AND s.month_end = last_day(v.month)
JOIN merchant_units u ON u.unit = v.unit
LEFT JOIN top2 t ON t.customer = v.customer AND t.month = v.month
LEFT JOIN firsts f ON f.unit = v.unit AND f.customer = v.customer
