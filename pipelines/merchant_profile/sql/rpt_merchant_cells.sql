-- Every distribution cell of some units (one, or a peer group) for one month.
SELECT unit_id, dimension, value, customers, transactions
FROM merchant_cells
WHERE level = $level AND list_contains($unit_ids, unit_id) AND strftime(month, '%Y-%m') = $month
ORDER BY unit_id, dimension, value
