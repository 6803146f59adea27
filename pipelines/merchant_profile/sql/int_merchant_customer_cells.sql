-- The customer dimensions of merchant_cells (see there) per unit key and month, in one
-- aggregation over customer rows ($customer_rows: every customer, or those a release counts),
-- visits and NT$ per customer capped at $max_visits and $max_spend_ntd (NULL: not capped).
SELECT
    unit, month,
    CASE WHEN grouping(visit_frequency) = 0 THEN 'visit_frequency'
         WHEN grouping(customer_type) = 0 THEN 'customer_type'
         WHEN grouping(age_band) = 0 THEN 'age_band'
         WHEN grouping(gender) = 0 THEN 'gender'
         WHEN grouping(home_district) = 0 THEN 'home_district'
         WHEN grouping(segment) = 0 THEN 'segment'
         ELSE 'cross_category' END AS dimension,
    coalesce(visit_frequency, customer_type, age_band, gender, home_district, segment, cross_category) AS value,
    count(*) AS customers,
    CAST(sum(least(visits, $max_visits)) AS BIGINT) AS transactions,
    CAST(sum(least(amount_ntd, $max_spend_ntd)) AS BIGINT) AS revenue_ntd
FROM query_table($customer_rows)
GROUP BY GROUPING SETS (
    (unit, month, visit_frequency), (unit, month, customer_type), (unit, month, age_band),
    (unit, month, gender), (unit, month, home_district), (unit, month, segment), (unit, month, cross_category)
)
