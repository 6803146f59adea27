-- One row per campaign: does its draw look random? srm_z compares the holdout's size with
-- the declared share (a sample-ratio-mismatch test: z^2 is the chi-square of one degree of
-- freedom); pre_spend_z compares the arms' retail NT$ per member, anywhere, in the $pre_days
-- days before the start (Welch's z): a random draw leaves the arms alike in how much they shop.
-- Either far from 0 means the arms were not drawn as declared.
-- The campaigns checked are those in checked_campaigns (a monthly extension: the campaigns new
-- or changed since its parent, whose gate checked the others on the same purchases); $from is
-- the first day any of their pre-periods opens, so older purchases are never read.
WITH checked AS (
    SELECT c.* FROM campaigns c SEMI JOIN checked_campaigns k ON k.campaign_id = c.campaign_id
),
payer AS (
    SELECT p.purchased_at, p.amount, coalesce(c.member_id, m.member_id) AS member_id
    FROM purchases p
    LEFT JOIN cards c ON c.card_id = p.card_id
    LEFT JOIN members m ON m.account_id = p.account_id
    WHERE p.purchased_at >= CAST($from AS TIMESTAMP)
),
pre AS (
    SELECT c.campaign_id, p.member_id, sum(p.amount) AS ntd
    FROM checked c
    JOIN payer p ON p.purchased_at >= c.start_date - CAST($pre_days AS INTEGER) AND p.purchased_at < c.start_date
    WHERE p.member_id IN (SELECT member_id FROM campaign_assignments a WHERE a.campaign_id = c.campaign_id)
    GROUP BY ALL
),
members_pre AS (
    SELECT a.campaign_id, a.arm, coalesce(pre.ntd, 0) AS ntd
    FROM campaign_assignments a
    LEFT JOIN pre USING (campaign_id, member_id)
    WHERE a.campaign_id IN (SELECT campaign_id FROM checked_campaigns)
),
arms AS (
    SELECT
        campaign_id,
        count(*) FILTER (arm = 'holdout') AS holdout,
        count(*) AS members,
        avg(ntd) FILTER (arm = 'treatment') AS mean_t,
        avg(ntd) FILTER (arm = 'holdout') AS mean_h,
        var_samp(ntd) FILTER (arm = 'treatment') AS var_t,
        var_samp(ntd) FILTER (arm = 'holdout') AS var_h,
        count(*) FILTER (arm = 'treatment') AS n_t
    FROM members_pre
    GROUP BY campaign_id
)
SELECT
    c.campaign_id,
    coalesce(a.members, 0) AS members,
    coalesce(a.holdout, 0) AS holdout,
    c.holdout_share AS declared_holdout_share,
    coalesce(a.holdout / nullif(a.members, 0), 0) AS holdout_share,
    coalesce(
        (a.holdout - a.members * c.holdout_share) / nullif(sqrt(a.members * c.holdout_share * (1 - c.holdout_share)), 0),
        0
    ) AS srm_z,
    -- Left empty (not judged) while an arm has fewer than $min_arm members: spend is skewed, and
    -- the variance of a handful of members understates it, so their z is no normal variate.
    CASE
        WHEN least(a.n_t, a.holdout) >= $min_arm
            THEN coalesce((a.mean_t - a.mean_h) / nullif(sqrt(a.var_t / a.n_t + a.var_h / a.holdout), 0), 0)
    END AS pre_spend_z
FROM checked c
LEFT JOIN arms a USING (campaign_id)
ORDER BY c.campaign_id
