-- The batch list @merchant_sample, from the merchant register alone (public, so the choice
-- says nothing about anyone's purchases): the first, middle and last outlets by ID (the last
-- often has too few customers to report) and the first and last chain brands.
WITH outlets AS (
    SELECT merchant_id AS id, row_number() OVER (ORDER BY merchant_id) AS r, count(*) OVER () AS n FROM merchants
)
SELECT id FROM outlets WHERE r IN (1, (n + 1) // 2, n)
UNION (SELECT min(brand_id) FROM merchants)
UNION (SELECT max(brand_id) FROM merchants)
ORDER BY id
