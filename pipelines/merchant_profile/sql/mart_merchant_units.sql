-- The merchant register as units with integer keys, so the large customer-level marts group and
-- join on integers rather than ID strings: outlets (key > 0: S and seven digits, the number plus
-- one), and chain brands (key < 0: B and four digits, minus the number plus one) over all their
-- outlets. Keys follow the IDs, so a unit keeps its key in every snapshot. An outlet's category and district are its own; a chain's
-- the most common of its outlets', a tie going to the first in order (mode() would pick
-- either, and two builds of the same data would differ). `chain` is the outlet's brand key.
WITH brands AS (
    SELECT brand_id, -(CAST(substr(brand_id, 2) AS INTEGER) + 1) AS unit
    FROM (SELECT DISTINCT brand_id FROM merchants WHERE brand_id IS NOT NULL)
),
counted AS (
    SELECT brand_id, 'category' AS what, category AS value, count(*) AS n
    FROM merchants WHERE brand_id IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT brand_id, 'district', district_id, count(*)
    FROM merchants WHERE brand_id IS NOT NULL GROUP BY ALL
),
most_common AS (
    SELECT brand_id, what, first(value ORDER BY n DESC, value) AS value FROM counted GROUP BY ALL
)
SELECT
    CAST(substr(m.merchant_id, 2) AS INTEGER) + 1 AS unit,
    'outlet' AS level,
    m.merchant_id AS unit_id,
    m.merchant_name AS unit_name,
    m.category,
    m.district_id,
    b.unit AS chain
FROM merchants m
LEFT JOIN brands b USING (brand_id)
UNION ALL
SELECT b.unit, 'chain', b.brand_id, min(m.brand_name), c.value, d.value, NULL
FROM merchants m
JOIN brands b USING (brand_id)
JOIN most_common c ON c.brand_id = b.brand_id AND c.what = 'category'
JOIN most_common d ON d.brand_id = b.brand_id AND d.what = 'district'
GROUP BY b.unit, b.brand_id, c.value, d.value
ORDER BY unit
