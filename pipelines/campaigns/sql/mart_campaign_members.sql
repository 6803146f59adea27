-- One row per campaign and audience member: the arm, the segment before the campaign, and
-- the member's purchases that count for the campaign in its pre-period and in its days; the
-- campaigns whose last month is from $since on (a monthly extension keeps the others' rows).
SELECT
    a.campaign_id,
    a.member_id,
    a.arm,
    coalesce(s.segment, 'not scored') AS segment,
    CAST(coalesce(h.pre_transactions, 0) > 0 AS INTEGER) AS pre_buyer,
    coalesce(h.pre_transactions, 0) AS pre_transactions,
    coalesce(h.pre_ntd, 0) AS pre_ntd,
    CAST(coalesce(h.transactions, 0) > 0 AS INTEGER) AS buyer,
    coalesce(h.transactions, 0) AS transactions,
    coalesce(h.ntd, 0) AS ntd,
    coalesce(h.redemptions, 0) AS redemptions,
    coalesce(h.redeemed_ntd, 0) AS redeemed_ntd,
    w.last_month
FROM campaign_assignments a
JOIN int_campaign_windows w USING (campaign_id)
LEFT JOIN rfm s ON s.member_id = a.member_id AND s.month_end = w.segment_month_end
LEFT JOIN int_campaign_hits h ON h.campaign_id = a.campaign_id AND h.member_id = a.member_id
WHERE w.last_month >= CAST($since AS DATE)
ORDER BY a.campaign_id, a.member_id
