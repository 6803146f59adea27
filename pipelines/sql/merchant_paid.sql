-- Purchases with their outlet's brand and category, the customer behind them and the hour of
-- the week. A customer is the member behind the card or wallet account; an unregistered card
-- is its own customer (and has no demographics). Used as a view by the merchant marts.
SELECT
    p.merchant_id,
    m.brand_id,
    m.category,
    CAST(date_trunc('month', p.purchased_at) AS DATE) AS month,
    isodow(p.purchased_at) AS dow,
    hour(p.purchased_at) AS hour,
    coalesce(c.member_id, a.member_id, p.card_id) AS customer_id,
    p.amount
FROM purchases p
JOIN merchants m USING (merchant_id)
LEFT JOIN cards c ON c.card_id = p.card_id
LEFT JOIN members a ON a.account_id = p.account_id
