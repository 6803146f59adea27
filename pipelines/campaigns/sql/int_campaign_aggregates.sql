-- What the effect estimates need of each arm, for the whole audience (segment 'all') and for
-- each segment: per metric, its count, means, variances and covariance with its own value in
-- the pre-period (CUPED's covariate). The statistics run on these, not on member rows.
WITH long AS (
    SELECT campaign_id, arm, segment, 'buyers' AS metric, CAST(buyer AS DOUBLE) AS y, CAST(pre_buyer AS DOUBLE) AS x
    FROM campaign_members
    UNION ALL
    SELECT campaign_id, arm, segment, 'transactions', transactions, pre_transactions FROM campaign_members
    UNION ALL
    SELECT campaign_id, arm, segment, 'ntd', ntd, pre_ntd FROM campaign_members
)
SELECT
    campaign_id,
    coalesce(segment, 'all') AS segment,
    metric,
    arm,
    count(*) AS n,
    avg(y) AS mean_y,
    avg(x) AS mean_x,
    coalesce(var_samp(y), 0) AS var_y,
    coalesce(var_samp(x), 0) AS var_x,
    coalesce(covar_samp(y, x), 0) AS cov_xy
FROM long
GROUP BY GROUPING SETS ((campaign_id, metric, arm), (campaign_id, segment, metric, arm))
ORDER BY ALL
