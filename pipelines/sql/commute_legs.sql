-- Commute legs of staff cards, for every employer at once. The rule, step by step:
-- 1. Legs: every trip of a staff card. MRT and light-rail distance is recomputed along the
--    lines from the station table (rail_distances: transfers at R10/O5, the light-rail loop
--    the shorter way round); bus, TRA and bike distance is the trip's recorded distance.
-- 2. Journeys: a leg that taps in within $max_gap_minutes of the previous leg's tap-out on the
--    same card continues that journey (bus then MRT is one journey, two legs).
-- 3. Areas, learned from the employee's own repeated trips: home is the district where the
--    card's weekday morning journeys most often start, work where they most often end (ties
--    go to the lower district ID). Cards with fewer than $min_morning_journeys such journeys
--    in the period have no areas and no commutes.
-- 4. Commutes: weekday journeys starting in the morning window ($am_from-$am_to, minutes after
--    midnight) from home to work, or in the evening window ($pm_from-$pm_to) from work to
--    home. Leisure rides, weekend rides and rides between other places are not commutes.
-- Output: one row per leg of a commute, with the journey it belongs to.
WITH staff_trips AS (
    SELECT
        t.trip_id, t.card_id, c.employer_id, t.mode, t.tap_in_at, t.tap_out_at,
        t.origin_district_id, t.destination_district_id,
        coalesce(r.km, t.distance_km) AS km
    FROM trips t
    JOIN cards c ON c.card_id = t.card_id AND c.card_type = 'staff'
    LEFT JOIN rail_distances r
        ON r.origin_station_id = t.origin_station_id AND r.destination_station_id = t.destination_station_id
),
chained AS (
    SELECT
        *,
        CASE WHEN lag(tap_out_at) OVER w IS NULL
                  OR tap_in_at > lag(tap_out_at) OVER w + to_minutes(CAST($max_gap_minutes AS BIGINT))
             THEN 1 ELSE 0 END AS starts_journey
    FROM staff_trips
    WINDOW w AS (PARTITION BY card_id ORDER BY tap_in_at, trip_id)
),
legs AS (
    SELECT
        *,
        sum(starts_journey) OVER (PARTITION BY card_id ORDER BY tap_in_at, trip_id ROWS UNBOUNDED PRECEDING)
            AS journey_no
    FROM chained
),
journeys AS (
    SELECT
        card_id,
        journey_no,
        min(tap_in_at) AS started_at,
        arg_min(origin_district_id, tap_in_at) AS from_district,
        arg_max(destination_district_id, tap_in_at) AS to_district
    FROM legs
    GROUP BY card_id, journey_no
),
timed AS (
    SELECT
        *,
        isodow(started_at) <= 5 AS is_weekday,
        CASE
            WHEN hour(started_at) * 60 + minute(started_at) BETWEEN $am_from AND $am_to THEN 'morning'
            WHEN hour(started_at) * 60 + minute(started_at) BETWEEN $pm_from AND $pm_to THEN 'evening'
        END AS time_window
    FROM journeys
),
morning_counts AS (
    SELECT card_id, from_district, to_district, count(*) AS n
    FROM timed
    WHERE is_weekday AND time_window = 'morning'
    GROUP BY ALL
),
areas AS (
    SELECT
        card_id,
        (list(from_district ORDER BY from_n DESC, from_district))[1] AS home_district,
        (list(to_district ORDER BY to_n DESC, to_district))[1] AS work_district
    FROM (
        SELECT
            card_id, from_district, to_district,
            sum(n) OVER (PARTITION BY card_id, from_district) AS from_n,
            sum(n) OVER (PARTITION BY card_id, to_district) AS to_n,
            sum(n) OVER (PARTITION BY card_id) AS total
        FROM morning_counts
    )
    WHERE total >= $min_morning_journeys
    GROUP BY card_id
),
commutes AS (
    SELECT t.card_id, t.journey_no, t.time_window, t.started_at
    FROM timed t
    JOIN areas a USING (card_id)
    WHERE t.is_weekday
      AND ((t.time_window = 'morning' AND t.from_district = a.home_district AND t.to_district = a.work_district)
        OR (t.time_window = 'evening' AND t.from_district = a.work_district AND t.to_district = a.home_district))
)
SELECT
    l.employer_id,
    l.card_id,
    CAST(date_trunc('month', c.started_at) AS DATE) AS month,
    CAST(c.started_at AS DATE) AS day,
    l.journey_no,
    c.time_window,
    l.trip_id,
    l.mode,
    l.km
FROM legs l
JOIN commutes c USING (card_id, journey_no)
