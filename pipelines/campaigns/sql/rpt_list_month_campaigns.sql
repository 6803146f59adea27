-- The campaigns of the kinds $kinds that ended in the snapshot's last month with a campaign,
-- and before the last day of its purchases: a monthly batch reports on a campaign once its
-- days are over (every campaign, and the merchant's view of each merchant offer).
SELECT campaign_id
FROM campaigns
WHERE date_trunc('month', end_date) = (SELECT max(date_trunc('month', end_date)) FROM campaigns)
    AND end_date <= (SELECT max(CAST(purchased_at AS DATE)) FROM purchases)
    AND list_contains(CAST($kinds AS VARCHAR[]), kind)
ORDER BY campaign_id
