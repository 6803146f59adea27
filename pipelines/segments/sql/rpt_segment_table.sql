-- Segment sizes and value at the as-of month end: members, share of members, share of spend,
-- mean recency / frequency / monetary value. Every configured segment appears, even if empty.
WITH at_date AS (
    SELECT * FROM rfm WHERE month_end = CAST($as_of AS DATE)
),
per_segment AS (
    SELECT segment, count(*) AS members, sum(monetary_ntd) AS spend_ntd,
           avg(recency_days) AS mean_recency_days, avg(frequency) AS mean_frequency,
           avg(monetary_ntd) AS mean_monetary_ntd
    FROM at_date
    GROUP BY segment
)
SELECT
    i.segment,
    i.side,
    CAST(coalesce(p.members, 0) AS BIGINT) AS members,
    round(100.0 * coalesce(p.members, 0) / (SELECT count(*) FROM at_date), 1) AS share_of_members_pct,
    round(100.0 * coalesce(p.spend_ntd, 0) / (SELECT sum(monetary_ntd) FROM at_date), 1) AS share_of_spend_pct,
    round(p.mean_recency_days, 1) AS mean_recency_days,
    round(p.mean_frequency, 1) AS mean_frequency,
    CAST(round(p.mean_monetary_ntd) AS BIGINT) AS mean_monetary_ntd
FROM segment_info i
LEFT JOIN per_segment p USING (segment)
ORDER BY i."order"
