-- One row per campaign and audience member: the arm, the segment before the campaign, and
-- the member's purchases that count for the campaign in its pre-period and in its days.
WITH redeemed AS (
    SELECT r.campaign_id, p.member_id, count(*) AS redemptions, CAST(sum(r.value) AS BIGINT) AS redeemed_ntd
    FROM redemptions r
    JOIN stg_campaign_purchases p USING (purchase_id)
    GROUP BY ALL
)
SELECT
    a.campaign_id,
    a.member_id,
    a.arm,
    coalesce(s.segment, 'not scored') AS segment,
    CAST(coalesce(pre.transactions, 0) > 0 AS INTEGER) AS pre_buyer,
    coalesce(pre.transactions, 0) AS pre_transactions,
    coalesce(pre.ntd, 0) AS pre_ntd,
    CAST(coalesce(dur.transactions, 0) > 0 AS INTEGER) AS buyer,
    coalesce(dur.transactions, 0) AS transactions,
    coalesce(dur.ntd, 0) AS ntd,
    coalesce(r.redemptions, 0) AS redemptions,
    coalesce(r.redeemed_ntd, 0) AS redeemed_ntd
FROM campaign_assignments a
JOIN int_campaign_windows w USING (campaign_id)
LEFT JOIN rfm s ON s.member_id = a.member_id AND s.month_end = w.segment_month_end
LEFT JOIN int_campaign_hits pre ON pre.campaign_id = a.campaign_id AND pre.member_id = a.member_id AND NOT pre.during
LEFT JOIN int_campaign_hits dur ON dur.campaign_id = a.campaign_id AND dur.member_id = a.member_id AND dur.during
LEFT JOIN redeemed r ON r.campaign_id = a.campaign_id AND r.member_id = a.member_id
ORDER BY a.campaign_id, a.member_id
