-- Where each segment spends: NT$ per scene over the window ending at the as-of month end, and
-- the scene's share of the segment's total (P2P included here as context, whatever counts as
-- spend for RFM).
WITH at_date AS (
    SELECT member_id, segment FROM rfm WHERE month_end = CAST($as_of AS DATE)
),
window_months AS (
    SELECT * FROM member_month
    WHERE scene <> 'all'
      AND month > CAST($as_of AS DATE) - to_months(CAST($window_months AS INTEGER))
      AND month <= CAST($as_of AS DATE)
),
per_scene AS (
    SELECT a.segment, w.scene, sum(w.amount_ntd) AS amount_ntd, sum(w.events) AS events
    FROM at_date a
    JOIN window_months w USING (member_id)
    GROUP BY ALL
)
SELECT
    segment,
    scene,
    CAST(amount_ntd AS BIGINT) AS amount_ntd,
    CAST(events AS BIGINT) AS events,
    round(100.0 * amount_ntd / sum(amount_ntd) OVER (PARTITION BY segment), 1) AS share_of_segment_spend_pct
FROM per_scene
ORDER BY segment, scene
