-- Member-month activity: per scene, and over all scenes (scene = 'all'): events, NT$,
-- active days, the last active day and the time of the last event, and the days as a bitmask
-- (bit d-1 for day d: days can be combined over scenes without counting a day twice). Reads member_scene_months, the per scene and month
-- aggregates (member_scene_month.sql), once. Active days and the last active day come from
-- the bitmask of days: bit_count, and the highest bit set (floor(log2) is exact for masks
-- below 2^31). The all-scenes rows combine the per-scene masks. Not sorted: a mart is read
-- by queries that order their own output.
WITH per_scene AS MATERIALIZED (
    SELECT * FROM member_scene_months
),
all_scenes AS (
    SELECT member_id, month, 'all' AS scene, sum(events) AS events, sum(amount_ntd) AS amount_ntd,
           bit_or(days_mask) AS days_mask, max(last_at) AS last_at
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
    CAST(month + CAST(floor(log2(days_mask)) AS INTEGER) AS DATE) AS last_day,
    last_at,
    days_mask
FROM (SELECT * FROM per_scene UNION ALL SELECT * FROM all_scenes)
