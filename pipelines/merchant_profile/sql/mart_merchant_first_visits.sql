-- Each customer's first month at each merchant unit within the snapshot: the state the merchant
-- marts carry from month to month, so that a month's `new` customers need no earlier visits.
-- Over the months being computed (merchant_visits), the pairs not seen before them
-- (merchant_seen_before: the parent's pairs when extending its marts, else none).
SELECT v.unit, v.customer, min(v.month) AS first_month
FROM merchant_visits v
WHERE NOT EXISTS (
    SELECT 1 FROM merchant_seen_before s WHERE s.unit = v.unit AND s.customer = v.customer
)
GROUP BY ALL
