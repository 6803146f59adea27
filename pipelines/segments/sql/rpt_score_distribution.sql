-- How the scored members at the as-of month end spread over the scores 1-5 of R, F and M
-- (% of the scored members; lapsed members have no scores).
WITH scored AS (
    SELECT r_score, f_score, m_score FROM rfm WHERE month_end = CAST($as_of AS DATE) AND r_score IS NOT NULL
),
scores AS (
    SELECT s AS score FROM range(1, 6) t(s)
)
SELECT
    CAST(s.score AS INTEGER) AS score,
    round(100.0 * (SELECT count(*) FROM scored WHERE r_score = s.score) / nullif((SELECT count(*) FROM scored), 0), 1)
        AS recency_pct,
    round(100.0 * (SELECT count(*) FROM scored WHERE f_score = s.score) / nullif((SELECT count(*) FROM scored), 0), 1)
        AS frequency_pct,
    round(100.0 * (SELECT count(*) FROM scored WHERE m_score = s.score) / nullif((SELECT count(*) FROM scored), 0), 1)
        AS monetary_pct
FROM scores s
ORDER BY s.score
