-- The cross_category dimension of merchant_cells (see there) per unit key and month.
-- Other categories bought, as bit masks (bit = merchant_units.category_bit): the categories
-- each customer bought in during the month, less those bought only at the unit in question.
WITH categories AS (
    SELECT DISTINCT category, category_bit FROM merchant_units
),
outlet_visits AS (
    SELECT v.customer, v.month, v.unit AS outlet, coalesce(u.chain, v.unit) AS chain, u.category_bit
    FROM merchant_visits v
    JOIN merchant_units u USING (unit)
    WHERE v.unit > 0
),
per_chain AS (
    SELECT customer, month, category_bit, chain, count(*) AS outlets, min(outlet) AS an_outlet
    FROM outlet_visits
    GROUP BY ALL
),
per_category AS (
    SELECT
        customer, month, category_bit,
        sum(outlets) AS outlets, min(an_outlet) AS an_outlet, count(*) AS chains, min(chain) AS a_chain
    FROM per_chain
    GROUP BY ALL
),
bought AS (
    SELECT customer, month, bit_or(CAST(1 AS BIGINT) << category_bit) AS mask
    FROM per_category
    GROUP BY ALL
),
only_here AS (
    SELECT an_outlet AS unit, customer, month, bit_or(CAST(1 AS BIGINT) << category_bit) AS mask
    FROM per_category
    WHERE outlets = 1
    GROUP BY ALL
    UNION ALL
    SELECT a_chain, customer, month, bit_or(CAST(1 AS BIGINT) << category_bit)
    FROM per_category
    WHERE chains = 1 AND a_chain < 0
    GROUP BY ALL
),
masks AS (
    SELECT v.unit, v.month, b.mask & ~coalesce(h.mask, 0) AS mask, count(*) AS customers
    FROM merchant_visits v
    JOIN bought b USING (customer, month)
    LEFT JOIN only_here h USING (unit, customer, month)
    GROUP BY ALL
)
SELECT
    m.unit, m.month, 'cross_category' AS dimension, c.category AS value,
    CAST(sum(m.customers) AS BIGINT) AS customers, CAST(NULL AS BIGINT) AS transactions,
    CAST(NULL AS BIGINT) AS revenue_ntd
FROM masks m
JOIN categories c ON m.mask & (CAST(1 AS BIGINT) << c.category_bit) <> 0
GROUP BY ALL
