-- Each audience member's purchases that count for the campaign (at its outlet or chain, or
-- anywhere for an operator subsidy), summed per member for its pre-period and for its days,
-- with the offer's redemptions among them. The outlets' chains are looked up after the
-- audience join, on the few purchases it keeps, not on every purchase of the snapshot.
-- Campaigns whose last month is before $since are left out (a monthly extension keeps its
-- parent's rows of them), and purchases before $from, the earliest pre-period left.
WITH audience_purchases AS (
    SELECT
        a.campaign_id,
        a.member_id,
        w.owner_kind,
        w.owner_id,
        p.purchase_id,
        p.merchant_id,
        p.day >= w.start_date AS during,
        p.amount
    FROM campaign_assignments a
    JOIN int_campaign_windows w USING (campaign_id)
    JOIN stg_campaign_purchases p
        ON p.member_id = a.member_id AND p.day >= w.pre_start AND p.day < w.stop_date
    WHERE w.last_month >= CAST($since AS DATE) AND p.day >= CAST($from AS DATE)
)
SELECT
    h.campaign_id,
    h.member_id,
    count(*) FILTER (WHERE NOT h.during) AS pre_transactions,
    CAST(coalesce(sum(h.amount) FILTER (WHERE NOT h.during), 0) AS BIGINT) AS pre_ntd,
    count(*) FILTER (WHERE h.during) AS transactions,
    CAST(coalesce(sum(h.amount) FILTER (WHERE h.during), 0) AS BIGINT) AS ntd,
    count(r.purchase_id) AS redemptions,
    CAST(coalesce(sum(r.value), 0) AS BIGINT) AS redeemed_ntd
FROM audience_purchases h
LEFT JOIN merchants o ON o.merchant_id = h.merchant_id
-- The gate holds every redemption to a treated member's purchase at the owner's outlets in
-- the campaign's days: each is among these purchases.
LEFT JOIN redemptions r ON r.campaign_id = h.campaign_id AND r.purchase_id = h.purchase_id
WHERE h.owner_kind = 'operator'
    OR (h.owner_kind = 'merchant' AND h.merchant_id = h.owner_id)
    OR (h.owner_kind = 'chain' AND o.brand_id = h.owner_id)
GROUP BY ALL
