-- Every possible peer of a unit: other units of its level and category in the operator's
-- merchant register, less an outlet's own chain, with their district (each peer scope keeps
-- those in its districts). The register is public knowledge (anyone can list the shops of a
-- kind on a map), so who the peers are says nothing about anyone's customers.
SELECT unit_id, district_id
FROM merchant_units
WHERE level = $level AND unit_id <> $unit_id AND category = $category
  AND unit_id NOT IN (
      SELECT merchant_id FROM merchants
      WHERE brand_id = (SELECT brand_id FROM merchants WHERE merchant_id = $unit_id)
  )
ORDER BY unit_id
