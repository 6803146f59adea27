-- What past operator subsidies returned in each segment (campaign marts): per segment, the
-- extra NT$ they brought (the NT$ effect per member times the treated members of the segment,
-- summed over the campaigns that ended by $as_of), its variance (from each campaign's CUPED
-- interval, campaigns being independent draws) and what the subsidy paid that segment.
WITH subsidies AS (
    SELECT campaign_id FROM campaign_results WHERE kind = 'operator_subsidy' AND end_date <= $as_of
),
paid AS (
    SELECT m.campaign_id, m.segment,
        count(*) FILTER (m.arm = 'treatment') AS treated,
        CAST(sum(m.redeemed_ntd) AS BIGINT) AS cost_ntd
    FROM campaign_members m
    JOIN subsidies USING (campaign_id)
    GROUP BY ALL
)
SELECT
    e.segment,
    count(*) AS campaigns,
    CAST(sum(p.treated) AS BIGINT) AS treated,
    CAST(sum(p.cost_ntd) AS BIGINT) AS cost_ntd,
    sum(e.effect * p.treated) AS incremental_ntd,
    sum(power((e.ci_upper - e.ci_lower) / (2 * 1.959963984540054) * p.treated, 2)) AS incremental_var
FROM campaign_effects e
JOIN paid p USING (campaign_id, segment)
WHERE e.metric = 'ntd' AND e.effect IS NOT NULL
GROUP BY e.segment
ORDER BY e.segment
