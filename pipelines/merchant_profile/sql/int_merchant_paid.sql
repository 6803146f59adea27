-- Purchases per outlet, customer, month and hour of the week (purchases and NT$), on integer
-- keys (merchant_units, merchant_payers), from the first month being computed ($since: the
-- snapshot's first, or an extension's first new month). A customer is the member behind the card or wallet
-- account; an unregistered card is its own customer. The one join on ID strings is the
-- purchase's payer (card or wallet account) to its customer.
SELECT
    u.unit AS outlet,
    y.customer,
    CAST(date_trunc('month', p.purchased_at) AS DATE) AS month,
    CAST(isodow(p.purchased_at) AS TINYINT) AS dow,
    CAST(hour(p.purchased_at) AS TINYINT) AS hour,
    count(*) AS purchases,
    CAST(sum(p.amount) AS BIGINT) AS amount_ntd
FROM purchases p
JOIN merchant_units u ON u.unit_id = p.merchant_id AND u.level = 'outlet'
JOIN merchant_payers y ON y.payer_id = coalesce(p.card_id, p.account_id)
WHERE p.purchased_at >= CAST($since AS TIMESTAMP)
GROUP BY ALL
