-- Per-member behaviour of a snapshot, one row of figures that should not depend on its size:
-- how often members come back to the same outlet, how many outlets they use, how concentrated
-- their purchases are, and how many of them use the card at all, in each scene.
--   purchases_per_member_outlet_month  purchases / distinct (member, outlet, month); this is also
--                                      the merchant profile's visits per customer over all outlets
--   outlets_per_member_month           distinct (member, outlet, month) / (member, month) with a purchase
--   top3_outlet_share                  share of members' purchases at each member's three outlets
--                                      with the most purchases over the period
--   returning_share                    of the (member, outlet, month) rows after the first month,
--                                      the share whose member bought at that outlet in an earlier month
--                                      (the merchant profile's "returning" against "new")
--   monthly_active_share               member-months with an event in any scene / member-months
--                                      registered (joined on or before the month end)
--   adoption_<scene>                   members with an event in the scene in the period / members
--   events_per_active_member_month     median events of a member in a month with any
-- A member's events: trips on any of their cards, purchases by their card or wallet, bills they
-- paid and transfers they sent (as in the segment family's member_events). Whole months only.
WITH months AS (
    SELECT month, last_day(month) AS month_end
    FROM period_months
    WHERE complete
),
card_member AS (
    SELECT card_id, member_id FROM cards WHERE member_id IS NOT NULL
),
bought AS (
    SELECT coalesce(cm.member_id, m.member_id) AS member_id, p.merchant_id,
           CAST(date_trunc('month', p.purchased_at) AS DATE) AS month
    FROM purchases p
    LEFT JOIN card_member cm ON cm.card_id = p.card_id
    LEFT JOIN members m ON m.account_id = p.account_id
    WHERE CAST(date_trunc('month', p.purchased_at) AS DATE) IN (SELECT month FROM months)
),
pairs AS (
    SELECT *, min(month) OVER (PARTITION BY member_id, merchant_id) AS first_month
    FROM (
        SELECT member_id, merchant_id, month, count(*) AS purchases
        FROM bought
        WHERE member_id IS NOT NULL
        GROUP BY ALL
    )
),
member_outlets AS (
    SELECT *, row_number() OVER (PARTITION BY member_id ORDER BY purchases DESC, merchant_id) AS rank
    FROM (SELECT member_id, merchant_id, sum(purchases) AS purchases FROM pairs GROUP BY ALL)
),
retail AS (
    SELECT
        sum(purchases) / count(*) AS purchases_per_member_outlet_month,
        count(*) / count(DISTINCT (member_id, month)) AS outlets_per_member_month,
        avg(CAST(first_month < month AS INTEGER)) FILTER (WHERE month > (SELECT min(month) FROM months))
            AS returning_share
    FROM pairs
),
concentration AS (
    SELECT sum(purchases) FILTER (WHERE rank <= 3) / sum(purchases) AS top3_outlet_share
    FROM member_outlets
),
events AS (
    SELECT cm.member_id, 'transit' AS scene, CAST(date_trunc('month', t.tap_in_at) AS DATE) AS month
    FROM trips t JOIN card_member cm USING (card_id)
    UNION ALL
    SELECT member_id, 'retail', month FROM bought WHERE member_id IS NOT NULL
    UNION ALL
    SELECT m.member_id, 'bills', CAST(date_trunc('month', b.paid_at) AS DATE)
    FROM bill_payments b JOIN members m USING (account_id)
    UNION ALL
    SELECT m.member_id, 'p2p', CAST(date_trunc('month', x.transferred_at) AS DATE)
    FROM transfers x JOIN members m ON m.account_id = x.from_account_id
),
member_months AS (
    SELECT member_id, month, count(*) AS events
    FROM events
    WHERE month IN (SELECT month FROM months)
    GROUP BY ALL
),
registered AS (
    SELECT count(*) AS member_months
    FROM members m JOIN months o ON m.join_date <= o.month_end
),
activity AS (
    SELECT
        count(*) / (SELECT member_months FROM registered) AS monthly_active_share,
        CAST(median(events) AS DOUBLE) AS events_per_active_member_month
    FROM member_months
),
adoption AS (
    SELECT
        count(DISTINCT member_id) FILTER (WHERE scene = 'transit') AS transit,
        count(DISTINCT member_id) FILTER (WHERE scene = 'retail') AS retail,
        count(DISTINCT member_id) FILTER (WHERE scene = 'bills') AS bills,
        count(DISTINCT member_id) FILTER (WHERE scene = 'p2p') AS p2p
    FROM events
    WHERE month IN (SELECT month FROM months)
),
joined AS (
    SELECT count(*) AS members FROM members WHERE join_date <= (SELECT max(month_end) FROM months)
)
SELECT
    r.purchases_per_member_outlet_month,
    r.outlets_per_member_month,
    c.top3_outlet_share,
    r.returning_share,
    a.monthly_active_share,
    d.transit / j.members AS adoption_transit,
    d.retail / j.members AS adoption_retail,
    d.bills / j.members AS adoption_bills,
    d.p2p / j.members AS adoption_p2p,
    a.events_per_active_member_month
FROM retail r, concentration c, activity a, adoption d, joined j
