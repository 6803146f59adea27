-- Migration: each member's segment at the end of month t-1 and of month t, for every month
-- t after the first. Members present at only one of the two month ends are not counted.
SELECT
    cur.month_end,
    prev.segment AS from_segment,
    cur.segment AS to_segment,
    CAST(count(*) AS BIGINT) AS members
FROM rfm cur
JOIN rfm prev
    ON prev.member_id = cur.member_id
   AND prev.month_end = CAST(date_trunc('month', cur.month_end) - INTERVAL 1 DAY AS DATE)
GROUP BY ALL
ORDER BY cur.month_end, from_segment, to_segment
