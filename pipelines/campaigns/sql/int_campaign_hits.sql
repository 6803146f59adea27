-- Purchases of each audience member that count for the campaign (at its outlet or chain, or
-- anywhere for an operator subsidy), in its pre-period or its days, summed per member.
SELECT
    a.campaign_id,
    a.member_id,
    p.day >= w.start_date AS during,
    count(*) AS transactions,
    CAST(sum(p.amount) AS BIGINT) AS ntd
FROM campaign_assignments a
JOIN int_campaign_windows w USING (campaign_id)
JOIN stg_campaign_purchases p
    ON p.member_id = a.member_id AND p.day >= w.pre_start AND p.day < w.stop_date
WHERE w.owner_kind = 'operator'
    OR (w.owner_kind = 'merchant' AND p.merchant_id = w.owner_id)
    OR (w.owner_kind = 'chain' AND p.brand_id = w.owner_id)
GROUP BY ALL
