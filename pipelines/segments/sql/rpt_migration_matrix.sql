-- Migration into the as-of month end from the month end before it: members per (from, to).
SELECT from_segment, to_segment, members
FROM migration
WHERE month_end = CAST($as_of AS DATE)
ORDER BY from_segment, to_segment
