-- The batch list @outlet_sample: 100 outlets of the merchant register, a fixed pseudo-random
-- sample (by a hash of their IDs). The register is public, so which outlets a batch of this
-- list reports on says nothing about anyone's purchases, unlike "the 100 busiest".
SELECT merchant_id FROM merchants ORDER BY md5(merchant_id), merchant_id LIMIT 100
