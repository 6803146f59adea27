-- The unified member view: every event of a registered member, whichever card or the wallet
-- paid. Anonymous cards have no member and drop out; P2P counts for the sender.
WITH card_member AS (
    SELECT card_id, member_id FROM cards WHERE member_id IS NOT NULL
),
account_member AS (
    SELECT account_id, member_id FROM members
)
SELECT cm.member_id, 'transit' AS scene, t.tap_in_at AS event_at, t.fare AS amount_ntd
FROM trips t
JOIN card_member cm USING (card_id)
UNION ALL
SELECT coalesce(cm.member_id, am.member_id), 'retail', p.purchased_at, p.amount
FROM purchases p
LEFT JOIN card_member cm ON cm.card_id = p.card_id
LEFT JOIN account_member am ON am.account_id = p.account_id
UNION ALL
SELECT am.member_id, 'bills', b.paid_at, b.amount
FROM bill_payments b
JOIN account_member am USING (account_id)
UNION ALL
SELECT am.member_id, 'p2p', x.transferred_at, x.amount
FROM transfers x
JOIN account_member am ON am.account_id = x.from_account_id
