-- Each campaign's days and its pre-period: the $pre_period_days days right before its start,
-- whose purchases are CUPED's covariate. The segment is the member's RFM segment at the last month
-- end before the start, so that the campaign cannot have moved it. last_month, the month of its
-- last day: a monthly extension computes again only the campaigns whose days reach its new
-- months (the others' purchases are all in months it shares with its parent).
SELECT
    campaign_id,
    kind,
    owner_kind,
    owner_id,
    start_date,
    CAST(end_date + 1 AS DATE) AS stop_date,
    CAST(start_date - CAST($pre_period_days AS INTEGER) AS DATE) AS pre_start,
    CAST(date_trunc('month', start_date) - INTERVAL 1 DAY AS DATE) AS segment_month_end,
    CAST(date_trunc('month', end_date) AS DATE) AS last_month
FROM campaigns
