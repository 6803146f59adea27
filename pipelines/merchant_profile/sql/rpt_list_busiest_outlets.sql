-- The batch list @busiest_outlets: the 100 outlets with most purchases.
SELECT merchant_id FROM purchases GROUP BY merchant_id ORDER BY count(*) DESC, merchant_id LIMIT 100
