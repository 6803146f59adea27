-- One campaign's arms, treatment first.
SELECT * FROM campaign_arms WHERE campaign_id = ? ORDER BY arm DESC
