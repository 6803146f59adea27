-- Districts numbered 0, 1, ... in the order of their IDs, so that commute detection compares
-- small integers instead of strings, and a tie between districts goes to the lower ID.
SELECT district_id, CAST(row_number() OVER (ORDER BY district_id) - 1 AS SMALLINT) AS code
FROM districts
