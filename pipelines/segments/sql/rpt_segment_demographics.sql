-- Who is in each segment: members by age band, gender and home district (long format:
-- dimension, value, members, share of the segment); what the operator does not know of a
-- member is 'unknown'.
WITH at_date AS (
    SELECT r.segment, m.gender, m.home_district_id, year(CAST($as_of AS DATE)) - m.birth_year AS age
    FROM rfm r
    JOIN members m USING (member_id)
    WHERE r.month_end = CAST($as_of AS DATE)
),
banded AS (
    SELECT
        segment,
        coalesce(gender, 'unknown') AS gender,
        home_district_id,
        CASE WHEN age IS NULL THEN 'unknown' WHEN age < 20 THEN '14-19' WHEN age < 30 THEN '20-29' WHEN age < 40 THEN '30-39'
             WHEN age < 50 THEN '40-49' WHEN age < 65 THEN '50-64' ELSE '65+' END AS age_band
    FROM at_date
),
long AS (
    SELECT segment, 'age_band' AS dimension, age_band AS value FROM banded
    UNION ALL SELECT segment, 'gender', gender FROM banded
    UNION ALL
    SELECT segment, 'district', coalesce(d.name_en, 'unknown')
    FROM banded b
    LEFT JOIN districts d ON d.district_id = b.home_district_id
)
SELECT
    segment,
    dimension,
    value,
    CAST(count(*) AS BIGINT) AS members,
    round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY segment, dimension), 1) AS share_pct
FROM long
GROUP BY segment, dimension, value
ORDER BY segment, dimension, value
