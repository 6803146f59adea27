-- Members per (R, F) score pair at the as-of month end, every cell present.
WITH cells AS (
    SELECT r.r AS r_score, f.f AS f_score FROM range(1, 6) r(r), range(1, 6) f(f)
),
counts AS (
    SELECT r_score, f_score, count(*) AS members FROM rfm WHERE month_end = CAST($as_of AS DATE) GROUP BY ALL
)
SELECT c.r_score, c.f_score, s.segment, CAST(coalesce(n.members, 0) AS BIGINT) AS members
FROM cells c
JOIN rf_segments s ON s.r_score = c.r_score AND s.f_score = c.f_score
LEFT JOIN counts n ON n.r_score = c.r_score AND n.f_score = c.f_score
ORDER BY c.r_score DESC, c.f_score
