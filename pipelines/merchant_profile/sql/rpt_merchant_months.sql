-- The months (YYYY-MM) the merchant marts hold.
SELECT DISTINCT strftime(month, '%Y-%m') AS month FROM merchant_month ORDER BY month
