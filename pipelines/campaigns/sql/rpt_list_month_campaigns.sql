-- The campaigns that ended in the snapshot's last month with a campaign: a monthly batch
-- reports on the month's campaigns once their days are over.
SELECT campaign_id
FROM campaigns
WHERE date_trunc('month', end_date) = (SELECT max(date_trunc('month', end_date)) FROM campaigns)
ORDER BY campaign_id
