-- One row: events per member and month for each event table (the volume suite's sane band).
-- $months is the number of calendar months in the snapshot's declared period.
WITH member_months AS (
    SELECT greatest(count(*), 1) * $months AS n FROM members
)
SELECT
    (SELECT count(*) FROM trips) / n AS trips_per_member_month,
    (SELECT count(*) FROM purchases) / n AS purchases_per_member_month,
    (SELECT count(*) FROM bill_payments) / n AS bill_payments_per_member_month,
    (SELECT count(*) FROM transfers) / n AS transfers_per_member_month
FROM member_months
