"""The default-shaped test snapshot conforms to the schema and carries the planted behaviour."""

from __future__ import annotations

import re

import polars as pl
import pytest

from pipelines.core import catalog
from pipelines.core.network import rail_distance_km, scalar_fare
from pipelines.core.schema import TABLES, table


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.name)
def test_columns_and_types_match_the_schema(con, spec):
    described = con.execute(f'DESCRIBE "{spec.name}"').fetchall()
    assert [(r[0], r[1]) for r in described] == [(c.name, c.duckdb_type) for c in spec.columns]


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.name)
def test_values_obey_the_column_rules(con, spec):
    frame = catalog.frame(con, f'SELECT * FROM "{spec.name}"')
    assert frame.height > 0
    for col in spec.columns:
        values = frame[col.name]
        if not col.nullable:
            assert values.null_count() == 0, col.name
        present = values.drop_nulls()
        if col.unique:
            assert present.n_unique() == len(present), col.name
        if col.min is not None:
            assert present.min() >= col.min, col.name
        if col.max is not None:
            assert present.max() <= col.max, col.name
        if col.allowed:
            assert set(present.unique()) <= set(col.allowed), col.name
        if col.pattern:
            bad = [v for v in present.unique().to_list() if not re.fullmatch(col.pattern, v)]
            assert bad == [], (col.name, bad[:3])


@pytest.mark.parametrize(
    ("child", "column", "parent"),
    [(t.name, c.name, c.references) for t in TABLES for c in t.columns if c.references],
)
def test_foreign_keys_resolve(con, child, column, parent):
    ptable, pcol = parent.split(".")
    orphans = con.execute(
        f'SELECT count(*) FROM "{child}" c LEFT JOIN "{ptable}" p ON c."{column}" = p."{pcol}" '
        f'WHERE c."{column}" IS NOT NULL AND p."{pcol}" IS NULL'
    ).fetchone()[0]
    assert orphans == 0


def test_events_lie_in_the_period(con, manifest):
    for spec in TABLES:
        if spec.time_column:
            lo, hi = con.execute(
                f'SELECT min("{spec.time_column}")::DATE, max("{spec.time_column}")::DATE FROM "{spec.name}"'
            ).fetchone()
            assert str(lo) >= manifest["period"]["start"] and str(hi) <= manifest["period"]["end"], spec.name


def test_event_files_each_hold_one_month_in_time_order(snapshot):
    """The marts read one month at a time and skip the other months' row groups only if they do."""
    from pipelines.core.snapshot import snapshot_path

    for spec in TABLES:
        if spec.time_column:
            files = sorted((snapshot_path(snapshot) / spec.name).glob("*.parquet"))
            assert files, spec.name
            for f in files:
                times = pl.read_parquet(f, columns=[spec.time_column])[spec.time_column]
                assert times.is_sorted(), f.name
                assert set(times.dt.strftime("%Y-%m")) <= {f.name[len("part-") :][:7]}, f.name


def test_rail_distances_and_fares_follow_the_rules(con):
    rows = con.execute(
        """SELECT t.mode, t.origin_station_id, t.destination_station_id, t.distance_km, t.fare, c.card_type,
                  date_diff('second', t.tap_in_at, t.tap_out_at) / 60.0
           FROM trips t JOIN cards c USING (card_id) ORDER BY t.trip_id LIMIT 3000"""
    ).fetchall()
    checked = 0
    for mode, a, b, km, fare, card_type, minutes in rows:
        if mode in ("mrt", "lrt"):
            assert km == pytest.approx(rail_distance_km(a, b), abs=1e-9)
            checked += 1
        else:
            assert a is None and b is None
        assert fare == scalar_fare(mode, km, minutes, card_type)
    assert checked > 500


def test_guardians_exist_and_are_adults(con):
    minors, bad = con.execute(
        """SELECT count(*) FILTER (WHERE 2025 - m.birth_year <= 20),
                  count(*) FILTER (WHERE 2025 - m.birth_year <= 20
                                     AND (g.member_id IS NULL OR 2025 - g.birth_year < 20))
           FROM members m LEFT JOIN members g ON g.member_id = m.guardian_member_id"""
    ).fetchone()
    assert minors > 0 and bad == 0
    adults_with_guardian = con.execute(
        "SELECT count(*) FROM members WHERE 2025 - birth_year > 20 AND guardian_member_id IS NOT NULL"
    ).fetchone()[0]
    assert adults_with_guardian == 0


def test_cards_anonymous_staff_and_several_per_member(con):
    anon, staff_without_employer, employer_on_non_staff, multi = con.execute(
        """SELECT count(*) FILTER (WHERE member_id IS NULL),
                  count(*) FILTER (WHERE card_type = 'staff' AND employer_id IS NULL),
                  count(*) FILTER (WHERE card_type <> 'staff' AND employer_id IS NOT NULL),
                  (SELECT count(*) FROM (SELECT member_id FROM cards WHERE member_id IS NOT NULL
                                         GROUP BY member_id HAVING count(*) > 1))
           FROM cards"""
    ).fetchone()
    assert anon > 0 and multi > 0
    assert staff_without_employer == 0 and employer_on_non_staff == 0
    anon_trips = con.execute(
        "SELECT count(*) FROM trips JOIN cards USING (card_id) WHERE cards.member_id IS NULL"
    ).fetchone()[0]
    assert anon_trips > 0


def test_weekday_rush_hours_stand_out(con):
    by_hour = dict(
        con.execute(
            "SELECT hour(tap_in_at), count(*) FROM trips WHERE isodow(tap_in_at) <= 5 GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    midday = (by_hour[11] + by_hour[14]) / 2
    assert by_hour[7] > 3 * midday and by_hour[18] > 3 * midday
    weekend_share_of_staff_trips = con.execute(
        """SELECT avg((isodow(tap_in_at) >= 6)::INT) FROM trips JOIN cards USING (card_id)
           WHERE card_type = 'staff'"""
    ).fetchone()[0]
    assert weekend_share_of_staff_trips < 0.1  # staff cards commute on weekdays


def test_dormant_members_stop_and_others_continue(con, truth):
    dormant = truth["members"].filter(pl.col("dormant_from").is_not_null())
    assert 0.05 < dormant.height / truth["members"].height < 0.2
    con.register("dormant", dormant.to_arrow())
    after = con.execute(
        """WITH acts AS (
               SELECT c.member_id, t.tap_in_at AS at FROM trips t JOIN cards c USING (card_id)
               UNION ALL
               SELECT m.member_id, p.purchased_at FROM purchases p JOIN members m USING (account_id)
               UNION ALL
               SELECT c.member_id, p.purchased_at FROM purchases p JOIN cards c USING (card_id)
               UNION ALL
               SELECT m.member_id, b.paid_at FROM bill_payments b JOIN members m USING (account_id)
               UNION ALL
               SELECT m.member_id, x.transferred_at FROM transfers x JOIN members m ON m.account_id = x.from_account_id)
           SELECT count(*) FILTER (WHERE a.at::DATE >= d.dormant_from),
                  count(DISTINCT d.member_id) FILTER (WHERE a.at::DATE < d.dormant_from)
           FROM acts a JOIN dormant d USING (member_id)"""
    ).fetchone()
    assert after[0] == 0  # nothing once dormant
    assert after[1] > 0.8 * dormant.height  # but active before


def test_members_keep_joining(con, manifest):
    joined_in_period = con.execute(
        "SELECT count(*) FROM members WHERE join_date >= ?", [manifest["period"]["start"]]
    ).fetchone()[0]
    assert joined_in_period > 0


def test_employers_differ_in_commute_mix(truth):
    mix = truth["employer_commute_mix"]
    assert mix.height >= 3
    assert mix["share_rail"].max() - mix["share_rail"].min() > 0.1


def test_convenience_stores_dominate_and_lunch_peaks(con):
    top = con.execute(
        "SELECT category FROM purchases JOIN merchants USING (merchant_id) GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    assert top == "convenience_store"
    food = dict(
        con.execute(
            """SELECT hour(purchased_at), count(*) FROM purchases JOIN merchants USING (merchant_id)
               WHERE category = 'food_and_drink' GROUP BY 1 ORDER BY 1"""
        ).fetchall()
    )
    assert food[12] > 2 * food.get(15, 0)


def test_split_bill_transfers_follow_food_purchases(con):
    near = con.execute(
        """SELECT count(*) FROM transfers x
           JOIN members payer ON payer.account_id = x.to_account_id
           WHERE EXISTS (SELECT 1 FROM purchases p JOIN merchants m USING (merchant_id)
                         LEFT JOIN cards c ON c.card_id = p.card_id
                         WHERE m.category = 'food_and_drink'
                           AND coalesce(c.member_id, (SELECT member_id FROM members
                                                      WHERE account_id = p.account_id)) = payer.member_id
                           AND x.transferred_at BETWEEN p.purchased_at AND p.purchased_at + INTERVAL 3 HOUR)"""
    ).fetchone()[0]
    assert near > 0


def test_reference_tables_match_the_committed_csv(con):
    stations = catalog.frame(con, "SELECT station_id, cumulative_km FROM stations ORDER BY station_id")
    assert stations.height == 77
    assert stations.filter(pl.col("station_id") == "RK1")["cumulative_km"].item() == 29.72
    assert table("stations").primary_key == "station_id"
