-- The merchant register as units with small integer keys, so the large customer-level marts
-- group and join on integers rather than ID strings: outlets (key > 0), and chain brands
-- (key < 0) over all their outlets. An outlet's category and district are its own; a chain's
-- the most common of its outlets. `chain` is the outlet's brand key.
WITH brands AS (
    SELECT brand_id, -CAST(row_number() OVER (ORDER BY brand_id) AS INTEGER) AS unit
    FROM (SELECT DISTINCT brand_id FROM merchants WHERE brand_id IS NOT NULL)
)
SELECT
    CAST(row_number() OVER (ORDER BY m.merchant_id) AS INTEGER) AS unit,
    'outlet' AS level,
    m.merchant_id AS unit_id,
    m.merchant_name AS unit_name,
    m.category,
    m.district_id,
    b.unit AS chain
FROM merchants m
LEFT JOIN brands b USING (brand_id)
UNION ALL
SELECT b.unit, 'chain', b.brand_id, any_value(m.brand_name), mode(m.category), mode(m.district_id), NULL
FROM merchants m
JOIN brands b USING (brand_id)
GROUP BY b.unit, b.brand_id
ORDER BY unit
