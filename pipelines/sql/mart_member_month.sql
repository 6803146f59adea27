-- Member-month activity: per scene, and over all scenes (scene = 'all'): events, NT$,
-- active days and the last active day. One pass over every event of the snapshot.
WITH events AS (
    SELECT member_id, scene, CAST(event_at AS DATE) AS day, amount_ntd FROM member_events
)
SELECT
    member_id,
    CAST(date_trunc('month', day) AS DATE) AS month,
    coalesce(scene, 'all') AS scene,
    CAST(count(*) AS BIGINT) AS events,
    CAST(sum(amount_ntd) AS BIGINT) AS amount_ntd,
    CAST(count(DISTINCT day) AS INTEGER) AS active_days,
    max(day) AS last_day
FROM events
GROUP BY GROUPING SETS ((member_id, date_trunc('month', day), scene), (member_id, date_trunc('month', day)))
ORDER BY member_id, month, scene
