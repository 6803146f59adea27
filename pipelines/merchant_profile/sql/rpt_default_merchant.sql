-- The merchant a report describes when none is named: the first of $subscribers that the
-- register holds, else the register's first outlet (public choices, unlike "the largest").
SELECT coalesce(
    (SELECT unit_id FROM merchant_units WHERE list_contains($subscribers, unit_id)
     ORDER BY list_position($subscribers, unit_id) LIMIT 1),
    (SELECT min(unit_id) FROM merchant_units WHERE level = 'outlet')
) AS unit_id
