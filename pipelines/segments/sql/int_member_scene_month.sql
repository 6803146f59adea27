-- One scene's events of one calendar month per member: events, NT$, a bitmask of the days of
-- the month with an event (bit d-1 for day d) and the time of the last event. Parameters:
-- $month_start (DATE), $scene_name.
-- The mart builds member_month from this query once per scene and month, unioned (see
-- marts.py): a GROUP BY member alone keeps a hash table of at most one row per member, and the
-- time and scene filters let DuckDB skip whole row groups by their statistics. The day of the
-- month comes from integer microseconds since the month start, which is cheaper per event than
-- a calendar function.
SELECT
    member_id,
    CAST($month_start AS DATE) AS month,
    $scene_name AS scene,
    count(*) AS events,
    sum(amount_ntd) AS amount_ntd,
    bit_or(CAST(1 AS BIGINT) << CAST(
        (epoch_us(event_at) - epoch_us(CAST($month_start AS TIMESTAMP))) // 86400000000 AS BIGINT
    )) AS days_mask,
    max(event_at) AS last_at
FROM member_events
WHERE scene = $scene_name
  AND event_at >= CAST($month_start AS TIMESTAMP)
  AND event_at < CAST($month_start AS TIMESTAMP) + INTERVAL 1 MONTH
GROUP BY member_id
