-- Member-month activity: per scene, and over all scenes (scene = 'all'): events, NT$,
-- active days and the last active day. One pass over every event of the snapshot.
-- Active days come from a bitmask of days of the month (bit_or, then bit_count), which
-- needs no DISTINCT hash table; the all-scenes rows combine the per-scene masks. Not
-- sorted: a mart is read by queries that order their own output.
WITH per_scene AS (
    SELECT
        member_id,
        CAST(date_trunc('month', event_at) AS DATE) AS month,
        scene,
        count(*) AS events,
        sum(amount_ntd) AS amount_ntd,
        bit_or(CAST(1 AS BIGINT) << CAST(day(event_at) - 1 AS BIGINT)) AS days_mask,
        CAST(max(event_at) AS DATE) AS last_day
    FROM member_events
    GROUP BY member_id, month, scene
),
all_scenes AS (
    SELECT member_id, month, 'all' AS scene, sum(events) AS events, sum(amount_ntd) AS amount_ntd,
           bit_or(days_mask) AS days_mask, max(last_day) AS last_day
    FROM per_scene
    GROUP BY member_id, month
)
SELECT
    member_id,
    month,
    scene,
    CAST(events AS BIGINT) AS events,
    CAST(amount_ntd AS BIGINT) AS amount_ntd,
    CAST(bit_count(days_mask) AS INTEGER) AS active_days,
    last_day
FROM (SELECT * FROM per_scene UNION ALL SELECT * FROM all_scenes)
