-- One merchant unit's name, category and district from the merchant register (no row when
-- the ID is neither an outlet nor a chain brand).
SELECT unit_name, category, district_id
FROM merchant_units
WHERE level = $level AND unit_id = $unit_id
