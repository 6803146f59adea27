-- Each campaign with its arms' sizes and the NT$ its offer paid to the treatment arm.
SELECT
    c.campaign_id,
    c.campaign_name,
    c.kind,
    c.owner_kind,
    c.owner_id,
    c.audience_rule,
    c.start_date,
    c.end_date,
    c.offer_value,
    c.holdout_share,
    coalesce(h.members, 0) AS holdout_members,
    coalesce(t.members, 0) AS treatment_members,
    coalesce(t.redemptions, 0) AS redemptions,
    coalesce(t.redeemed_ntd, 0) AS cost_ntd
FROM campaigns c
LEFT JOIN campaign_arms h ON h.campaign_id = c.campaign_id AND h.arm = 'holdout'
LEFT JOIN campaign_arms t ON t.campaign_id = c.campaign_id AND t.arm = 'treatment'
ORDER BY c.campaign_id
