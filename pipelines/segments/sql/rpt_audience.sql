-- Members matching a merchant's target at the as-of month end. Empty criteria match anyone,
-- members of unknown age, gender or district included; a criterion given excludes them.
-- Monthly spend = RFM monetary value over the window divided by its months.
WITH base AS (
    SELECT r.member_id, r.segment, m.gender, m.home_district_id,
           year(CAST($as_of AS DATE)) - m.birth_year AS age,
           r.monetary_ntd / CAST($window_months AS DOUBLE) AS monthly_spend_ntd
    FROM rfm r
    JOIN members m USING (member_id)
    WHERE r.month_end = CAST($as_of AS DATE)
),
scene_users AS (
    SELECT DISTINCT member_id
    FROM member_month
    WHERE scene = $scene
      AND month > CAST($as_of AS DATE) - to_months(CAST($window_months AS INTEGER))
      AND month <= CAST($as_of AS DATE)
)
SELECT member_id, segment
FROM base
WHERE ($gender = '' OR gender = $gender)
  AND (($age_min = 0 AND $age_max = 120) OR age BETWEEN $age_min AND $age_max)
  AND monthly_spend_ntd >= $min_monthly_spend
  AND (len(CAST($districts AS VARCHAR[])) = 0 OR list_contains(CAST($districts AS VARCHAR[]), home_district_id))
  AND (len(CAST($segments AS VARCHAR[])) = 0 OR list_contains(CAST($segments AS VARCHAR[]), segment))
  AND ($scene = '' OR member_id IN (SELECT member_id FROM scene_users))
ORDER BY member_id
