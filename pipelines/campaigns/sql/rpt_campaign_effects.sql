-- One campaign's effects: the whole audience and each segment, every metric.
SELECT * FROM campaign_effects WHERE campaign_id = ? ORDER BY segment, metric
