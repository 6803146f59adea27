-- The customer dimensions of merchant_cells (see there) per unit key and month: visit
-- frequency, customer type, age band, gender, home district and RFM segment, in one
-- aggregation over the customer-level rows. Unregistered cards are 'unregistered'; a member
-- whose birth year, gender or home district the operator does not know is 'unknown'.
WITH segments AS (
    SELECT c.customer, r.month_end, r.segment
    FROM rfm r
    JOIN merchant_customers c USING (member_id)
),
described AS (
    SELECT
        v.unit,
        v.month,
        v.visits,
        v.amount_ntd,
        CASE WHEN v.visits = 1 THEN '1' WHEN v.visits = 2 THEN '2' WHEN v.visits <= 4 THEN '3-4' ELSE '5+' END
            AS visit_frequency,
        CASE WHEN v.month = date_trunc('month', CAST($period_start AS DATE)) THEN 'no history'
             WHEN v.first_month = v.month THEN 'new' ELSE 'returning' END AS customer_type,
        CASE WHEN c.customer IS NULL THEN 'unregistered' WHEN c.birth_year IS NULL THEN 'unknown'
             WHEN year(v.month) - c.birth_year < 20 THEN '14-19' WHEN year(v.month) - c.birth_year < 30 THEN '20-29'
             WHEN year(v.month) - c.birth_year < 40 THEN '30-39' WHEN year(v.month) - c.birth_year < 50 THEN '40-49'
             WHEN year(v.month) - c.birth_year < 65 THEN '50-64' ELSE '65+' END AS age_band,
        CASE WHEN c.customer IS NULL THEN 'unregistered' ELSE coalesce(c.gender, 'unknown') END AS gender,
        CASE WHEN c.customer IS NULL THEN 'unregistered' ELSE coalesce(c.district, 'unknown') END AS home_district,
        coalesce(s.segment, CASE WHEN c.customer IS NULL THEN 'unregistered' ELSE 'not scored' END) AS segment
    FROM merchant_visits v
    LEFT JOIN merchant_customers c ON c.customer = v.customer
    LEFT JOIN segments s ON s.customer = v.customer AND s.month_end = last_day(v.month)
)
SELECT
    unit, month,
    CASE WHEN grouping(visit_frequency) = 0 THEN 'visit_frequency'
         WHEN grouping(customer_type) = 0 THEN 'customer_type'
         WHEN grouping(age_band) = 0 THEN 'age_band'
         WHEN grouping(gender) = 0 THEN 'gender'
         WHEN grouping(home_district) = 0 THEN 'home_district'
         ELSE 'segment' END AS dimension,
    coalesce(visit_frequency, customer_type, age_band, gender, home_district, segment) AS value,
    count(*) AS customers,
    CAST(sum(visits) AS BIGINT) AS transactions,
    CAST(sum(amount_ntd) AS BIGINT) AS revenue_ntd
FROM described
GROUP BY GROUPING SETS (
    (unit, month, visit_frequency), (unit, month, customer_type), (unit, month, age_band),
    (unit, month, gender), (unit, month, home_district), (unit, month, segment)
)
