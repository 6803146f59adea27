-- The unit keys of a release's units ($unit_ids) and months ($months, YYYY-MM), pairwise.
SELECT u.unit, u.level, u.unit_id, CAST(strptime(m.month, '%Y-%m') AS DATE) AS month
FROM (SELECT unnest($unit_ids) AS unit_id, unnest($months) AS month) m
JOIN merchant_units u USING (unit_id)
