-- The outlet with most customers in any month: the merchant a report defaults to.
SELECT unit_id FROM merchant_month WHERE level = 'outlet' ORDER BY customers DESC, unit_id LIMIT 1
