-- RFM and named segment at every month end of the period, from the member-month mart.
--   recency_days: calendar days from the last spend day (any time up to the month end) to the
--                 month end, by date_diff on dates (not floored elapsed time);
--   frequency, monetary_ntd: spend events and NT$ in the $window_months months ending there;
--   r_score: 5 if recency_days <= $r5_days, 4 if <= $r4_days, 3 if <= $r3_days, 2 if <= $r2_days,
--            else 1 (thresholds from the configuration);
--   f_score, m_score: 1 + floor(5 * (rank - 1) / members) per month end, rank ascending over
--            the metric; tied members share the lowest rank of their tie, so equal values
--            always get equal scores and the many members tied at zero all score 1.
--            rank - 1 is the number of members with a lower value: counted per distinct value
--            and summed over the lower ones, which sorts the few distinct values instead of
--            every member (the same as rank(), and faster).
-- The segment is the (R, F) pair looked up in the configured map, table rf_segments.
-- Members appear from the first month end after their first spend (and after joining).
-- Parameters: $spend_scenes (VARCHAR[]), $window_months, $period_start, $period_end (DATE; an
-- imported period may start and end on any day: the month ends are the calendar month ends
-- inside it, so a last month cut short is not scored), $r5_days, $r4_days, $r3_days, $r2_days.
WITH month_ends AS (
    SELECT CAST(m + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS month_end, CAST(m AS DATE) AS month
    FROM range(date_trunc('month', CAST($period_start AS DATE)), CAST($period_end AS DATE) + INTERVAL 1 DAY,
               INTERVAL 1 MONTH) r(m)
    WHERE m + INTERVAL 1 MONTH - INTERVAL 1 DAY <= CAST($period_end AS DATE)
),
spend AS (
    SELECT member_id, month, sum(events) AS events, sum(amount_ntd) AS amount_ntd, max(last_day) AS last_day
    FROM member_month
    WHERE scene IN (SELECT unnest(CAST($spend_scenes AS VARCHAR[])))
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
        sum(coalesce(s.events, 0)) OVER w_window AS frequency,
        sum(coalesce(s.amount_ntd, 0)) OVER w_window AS monetary_ntd,
        max(s.last_day) OVER w_history AS last_day
    FROM grid g
    LEFT JOIN spend s USING (member_id, month)
    WINDOW
        w_window AS (PARTITION BY g.member_id ORDER BY g.month ROWS BETWEEN $window_months - 1 PRECEDING AND CURRENT ROW),
        w_history AS (PARTITION BY g.member_id ORDER BY g.month ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
measured AS (
    SELECT member_id, month_end, date_diff('day', last_day, month_end) AS recency_days,
           CAST(frequency AS BIGINT) AS frequency, CAST(monetary_ntd AS BIGINT) AS monetary_ntd
    FROM rolling
),
ranked AS (
    -- Per month end and distinct value of F (rows with monetary_ntd NULL) or of M (frequency
    -- NULL): the members with a lower value, and all members.
    SELECT *,
           coalesce(sum(n) OVER (PARTITION BY month_end, frequency IS NULL ORDER BY coalesce(frequency, monetary_ntd)
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS below,
           sum(n) OVER (PARTITION BY month_end, frequency IS NULL) AS members
    FROM (
        SELECT month_end, frequency, monetary_ntd, count(*) AS n
        FROM measured
        GROUP BY GROUPING SETS ((month_end, frequency), (month_end, monetary_ntd))
    )
),
scored AS (
    SELECT
        m.*,
        CASE WHEN m.recency_days <= $r5_days THEN 5 WHEN m.recency_days <= $r4_days THEN 4
             WHEN m.recency_days <= $r3_days THEN 3 WHEN m.recency_days <= $r2_days THEN 2 ELSE 1 END AS r_score,
        CAST(1 + floor(5 * f.below / f.members) AS INTEGER) AS f_score,
        CAST(1 + floor(5 * mo.below / mo.members) AS INTEGER) AS m_score
    FROM measured m
    JOIN ranked f ON f.month_end = m.month_end AND f.frequency = m.frequency
    JOIN ranked mo ON mo.month_end = m.month_end AND mo.monetary_ntd = m.monetary_ntd
)
SELECT sc.*, seg.segment
FROM scored sc
JOIN rf_segments seg ON seg.r_score = sc.r_score AND seg.f_score = sc.f_score
