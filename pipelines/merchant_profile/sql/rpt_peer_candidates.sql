-- Every possible peer of a unit in one month: other units of its level and category, less an
-- outlet's own chain, with their district (each peer scope keeps those in its districts).
SELECT unit_id, district_id, customers, transactions, revenue_ntd
FROM merchant_month
WHERE level = $level AND unit_id <> $unit_id AND category = $category AND strftime(month, '%Y-%m') = $month
  AND unit_id NOT IN (
      SELECT merchant_id FROM merchants
      WHERE brand_id = (SELECT brand_id FROM merchants WHERE merchant_id = $unit_id)
  )
ORDER BY unit_id
