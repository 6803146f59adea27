-- Per campaign and arm: members, and their buyers, transactions and NT$ that count for the
-- campaign, before it and during it; the offer's redemptions and what they cost.
SELECT
    campaign_id,
    arm,
    count(*) AS members,
    CAST(sum(pre_buyer) AS BIGINT) AS pre_buyers,
    CAST(sum(pre_transactions) AS BIGINT) AS pre_transactions,
    CAST(sum(pre_ntd) AS BIGINT) AS pre_ntd,
    CAST(sum(buyer) AS BIGINT) AS buyers,
    CAST(sum(transactions) AS BIGINT) AS transactions,
    CAST(sum(ntd) AS BIGINT) AS ntd,
    CAST(sum(redemptions) AS BIGINT) AS redemptions,
    CAST(sum(redeemed_ntd) AS BIGINT) AS redeemed_ntd
FROM campaign_members
GROUP BY ALL
ORDER BY campaign_id, arm
