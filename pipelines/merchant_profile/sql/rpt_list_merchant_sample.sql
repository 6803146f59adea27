-- The batch list @merchant_sample: the largest outlet by purchases, the 10th and 30th largest,
-- the last outlet by ID (often too small to report) and the first chain brand.
SELECT id FROM (
    SELECT merchant_id AS id, row_number() OVER (ORDER BY count(*) DESC, merchant_id) AS r
    FROM purchases
    GROUP BY merchant_id
)
WHERE r IN (1, 10, 30)
UNION (SELECT max(merchant_id) FROM merchants)
UNION (SELECT min(brand_id) FROM merchants)
ORDER BY id
