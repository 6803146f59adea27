-- RFM and named segment at every calendar month end inside the period, from member_month.
-- Scored: the members "active" at a month end, with at least one spend event in the
-- $window_months months ending there. A member who spent before but not in the window is
-- $lapsed_segment, with no scores. Members appear from the first month end after their first
-- spend.
--   recency_days  calendar days from the last spend day to the month end (date_diff on dates)
--   frequency     spend events in the window ($frequency = 'events'), or distinct days with a
--                 spend in any spend scene ('days')
--   monetary_ntd  NT$ spent in the window
--   scores 1-5 among the active members of the month end, by quantile, ties at their middle:
--       score = 1 + floor(5 * (members worse + half the members tied) / active members)
--     so equal values always share a score, a large tie lands in the quintile of its middle,
--     and without ties each score holds a fifth. Worse: a smaller frequency or NT$; for
--     recency, a longer time since the last spend, measured to the microsecond so that a card
--     used every day still spreads over 1-5. With $recency = 'thresholds', r_score is 5 if
--     recency_days <= $r5_days, 4 if <= $r4_days, 3 if <= $r3_days, 2 if <= $r2_days, else 1.
--   segment       the (r_score, f_score) pair looked up in the configured map (rf_segments)
--   fixed_segment the same map on fixed scores, which depend on the member alone: R by the
--                 day thresholds above, F 5 if frequency >= $f5_min, 4 if >= $f4_min, 3 if
--                 >= $f3_min, 2 if >= $f2_min, else 1 (what merchant profiles publish)
-- The worse-than counts are summed per distinct value, which sorts the distinct values rather
-- than every member (the same as rank(), and faster).
-- Parameters: $spend_scenes (VARCHAR[]), $window_months, $frequency, $recency, $lapsed_segment,
-- $period_start, $period_end (DATE; an imported period may start and end on any day: a last
-- month cut short is not scored), $r5_days, $r4_days, $r3_days, $r2_days, $f5_min, $f4_min,
-- $f3_min, $f2_min.
WITH month_ends AS (
    SELECT CAST(m + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS month_end, CAST(m AS DATE) AS month
    FROM (
        SELECT unnest(generate_series(CAST(date_trunc('month', CAST($period_start AS DATE)) AS TIMESTAMP),
                                      CAST($period_end AS TIMESTAMP), INTERVAL 1 MONTH)) AS m
    )
    WHERE m + INTERVAL 1 MONTH - INTERVAL 1 DAY <= CAST($period_end AS DATE)
),
spend AS (
    SELECT member_id, month, sum(events) AS events, sum(amount_ntd) AS amount_ntd,
           bit_count(bit_or(days_mask)) AS days, max(last_at) AS last_at
    FROM member_month
    WHERE list_contains(CAST($spend_scenes AS VARCHAR[]), scene)
    GROUP BY member_id, month
),
grid AS (
    SELECT s.member_id, e.month, e.month_end
    FROM (SELECT member_id, min(month) AS first_month FROM spend GROUP BY member_id) s
    JOIN month_ends e ON e.month >= s.first_month
),
rolling AS (
    SELECT
        g.member_id,
        g.month_end,
        sum(coalesce(s.events, 0)) OVER w_window AS events,
        sum(coalesce(s.days, 0)) OVER w_window AS days,
        sum(coalesce(s.amount_ntd, 0)) OVER w_window AS monetary_ntd,
        max(s.last_at) OVER w_history AS last_at
    FROM grid g
    LEFT JOIN spend s USING (member_id, month)
    WINDOW
        w_window AS (PARTITION BY g.member_id ORDER BY g.month ROWS BETWEEN $window_months - 1 PRECEDING AND CURRENT ROW),
        w_history AS (PARTITION BY g.member_id ORDER BY g.month ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
measured AS (
    SELECT
        member_id,
        month_end,
        date_diff('day', CAST(last_at AS DATE), month_end) AS recency_days,
        epoch_us(last_at) AS last_us,
        CAST(CASE WHEN $frequency = 'days' THEN days ELSE events END AS BIGINT) AS frequency,
        CAST(monetary_ntd AS BIGINT) AS monetary_ntd,
        events > 0 AS active
    FROM rolling
),
ranked AS (
    -- Per month end, measure and distinct value among the active members: the members with a
    -- worse value, the members with this value, and all active members.
    SELECT
        month_end, measure, value, n AS tied,
        coalesce(sum(n) OVER (PARTITION BY month_end, measure ORDER BY value
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS worse,
        sum(n) OVER (PARTITION BY month_end, measure) AS members
    FROM (
        SELECT month_end, 'f' AS measure, frequency AS value, count(*) AS n FROM measured WHERE active GROUP BY ALL
        UNION ALL
        SELECT month_end, 'm', monetary_ntd, count(*) FROM measured WHERE active GROUP BY ALL
        UNION ALL
        SELECT month_end, 'r', last_us, count(*) FROM measured WHERE active GROUP BY ALL
    )
),
scored AS (
    SELECT
        m.member_id,
        m.month_end,
        m.recency_days,
        m.frequency,
        m.monetary_ntd,
        CASE WHEN m.active THEN
                 CASE WHEN m.recency_days <= $r5_days THEN 5 WHEN m.recency_days <= $r4_days THEN 4
                      WHEN m.recency_days <= $r3_days THEN 3 WHEN m.recency_days <= $r2_days THEN 2 ELSE 1 END
             END AS r_fixed,
        CASE WHEN m.active THEN
                 CASE WHEN m.frequency >= $f5_min THEN 5 WHEN m.frequency >= $f4_min THEN 4
                      WHEN m.frequency >= $f3_min THEN 3 WHEN m.frequency >= $f2_min THEN 2 ELSE 1 END
             END AS f_fixed,
        CASE WHEN NOT m.active THEN NULL
             WHEN $recency = 'thresholds' THEN r_fixed
             ELSE CAST(1 + floor(5 * (r.worse + r.tied / 2) / r.members) AS INTEGER) END AS r_score,
        CAST(1 + floor(5 * (f.worse + f.tied / 2) / f.members) AS INTEGER) AS f_score,
        CAST(1 + floor(5 * (mo.worse + mo.tied / 2) / mo.members) AS INTEGER) AS m_score
    FROM measured m
    LEFT JOIN ranked f ON m.active AND f.month_end = m.month_end AND f.measure = 'f' AND f.value = m.frequency
    LEFT JOIN ranked mo ON m.active AND mo.month_end = m.month_end AND mo.measure = 'm' AND mo.value = m.monetary_ntd
    LEFT JOIN ranked r ON m.active AND r.month_end = m.month_end AND r.measure = 'r' AND r.value = m.last_us
)
SELECT
    sc.member_id, sc.month_end, sc.recency_days, sc.frequency, sc.monetary_ntd,
    CAST(sc.r_score AS INTEGER) AS r_score, sc.f_score, sc.m_score,
    coalesce(seg.segment, $lapsed_segment) AS segment,
    coalesce(fixed.segment, $lapsed_segment) AS fixed_segment
FROM scored sc
LEFT JOIN rf_segments seg ON seg.r_score = sc.r_score AND seg.f_score = sc.f_score
LEFT JOIN rf_segments fixed ON fixed.r_score = sc.r_fixed AND fixed.f_score = sc.f_fixed
