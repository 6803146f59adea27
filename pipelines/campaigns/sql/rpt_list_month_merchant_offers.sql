-- The month's campaigns (see rpt_list_month_campaigns) that a merchant or chain paid for: each
-- gets the merchant's view of its report as well as the operator's.
SELECT campaign_id
FROM campaigns
WHERE date_trunc('month', end_date) = (SELECT max(date_trunc('month', end_date)) FROM campaigns)
    AND end_date <= (SELECT max(CAST(purchased_at AS DATE)) FROM purchases)
    AND kind = 'merchant_offer'
ORDER BY campaign_id
