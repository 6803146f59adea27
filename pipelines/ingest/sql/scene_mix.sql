-- Events and NT$ per scene over the whole snapshot, for the summary.
WITH scene_events AS (
    SELECT 'transit' AS scene, count(*) AS events, sum(fare) AS amount FROM trips
    UNION ALL
    SELECT 'retail', count(*), sum(amount) FROM purchases
    UNION ALL
    SELECT 'bills', count(*), sum(amount) FROM bill_payments
    UNION ALL
    SELECT 'p2p', count(*), sum(amount) FROM transfers
)
SELECT
    scene,
    events,
    CAST(amount AS BIGINT) AS amount_ntd,
    round(100.0 * events / sum(events) OVER (), 1) AS share_of_events_pct
FROM scene_events
ORDER BY events DESC, scene
