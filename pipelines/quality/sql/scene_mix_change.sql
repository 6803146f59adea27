-- Each scene's share of events now (schema "current": for an extension, its new days) and in
-- the previous snapshot (schema "previous"), among the scenes both run ($scenes).
WITH now_mix AS (
    SELECT 'transit' AS scene, count(*) AS n FROM current.trips
    UNION ALL SELECT 'retail', count(*) FROM current.purchases
    UNION ALL SELECT 'bills', count(*) FROM current.bill_payments
    UNION ALL SELECT 'p2p', count(*) FROM current.transfers
),
previous_mix AS (
    SELECT 'transit' AS scene, count(*) AS n FROM previous.trips
    UNION ALL SELECT 'retail', count(*) FROM previous.purchases
    UNION ALL SELECT 'bills', count(*) FROM previous.bill_payments
    UNION ALL SELECT 'p2p', count(*) FROM previous.transfers
),
-- (Aliases are not column names: Spark reads `n.scene` as the field of a column n.)
shares AS (
    SELECT
        cur.scene,
        100.0 * cur.n / sum(cur.n) OVER () AS share_pct,
        100.0 * prev.n / sum(prev.n) OVER () AS previous_share_pct
    FROM now_mix cur
    JOIN previous_mix prev USING (scene)
    WHERE list_contains(CAST($scenes AS VARCHAR[]), cur.scene)
)
SELECT scene, share_pct, previous_share_pct, share_pct - previous_share_pct AS share_change_pp
FROM shares
ORDER BY scene
