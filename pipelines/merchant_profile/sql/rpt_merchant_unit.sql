-- One merchant unit's name, category and district as the headline mart knows them (no rows
-- when it had no purchases in the snapshot), and whether the ID exists at all.
SELECT
    (SELECT count(*) FROM merchants WHERE merchant_id = $unit_id OR brand_id = $unit_id) > 0 AS known,
    u.unit_name, u.category, u.district_id
FROM (SELECT 1) one
LEFT JOIN (
    SELECT DISTINCT unit_name, category, district_id FROM merchant_month WHERE level = $level AND unit_id = $unit_id
) u ON true
