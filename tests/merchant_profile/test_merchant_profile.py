"""Merchant profiles: figures by hand on crafted purchases, the disclosure rules, and no
identifier in any published file."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines import privacy
from pipelines.core.family import MartWriter
from pipelines.core.schema import ACCOUNT_ID, CARD_ID, MEMBER_ID
from pipelines.core.snapshot import Snapshot
from pipelines.merchant_profile import profile as merchant_profile
from pipelines.merchant_profile.marts import build
from pipelines.merchant_profile.peers import PEER_MAX_MERCHANTS
from tests.merchant_profile.customers import EXACT, Person, Unit, customer_marts, people, published

S1, S2, S3, B1 = "S0000001", "S0000002", "S0000003", "B0001"


def crafted(folder: Path, period_start: str = "2025-01-01", without_a: bool = False) -> duckdb.DuckDBPyConnection:
    """Outlets S1 and S2 of chain B1 (convenience), S3 independent (pharmacy). Member A (F,
    born 1990) pays by card, member B (M, 1960) from the wallet, card Z is unregistered.
    The intermediates are written to `folder`; the marts' SQL runs on the connection."""
    at = dt.datetime
    card_a, card_z, wallet_b = "K000000001", "K000000002", "W00000002"
    purchases = [
        (1, at(2025, 1, 6, 8, 10), S1, 100, "card", card_a, None),
        (2, at(2025, 1, 7, 8, 20), S1, 200, "card", card_a, None),
        (3, at(2025, 1, 7, 12, 0), S1, 300, "wallet", None, wallet_b),
        (4, at(2025, 1, 8, 18, 0), S1, 50, "card", card_z, None),
        (5, at(2025, 1, 9, 9, 0), S3, 80, "card", card_a, None),
        (6, at(2025, 2, 3, 8, 0), S1, 100, "card", card_a, None),
        (7, at(2025, 2, 4, 8, 0), S2, 60, "wallet", None, wallet_b),
        (8, at(2025, 2, 5, 9, 0), S2, 40, "card", card_a, None),
    ]
    con = duckdb.connect()
    frames = {
        "purchases": _purchases(purchases),
        "merchants": pl.DataFrame(
            {
                "merchant_id": [S1, S2, S3],
                "merchant_name": ["B1 #1", "B1 #2", "Pharmacy"],
                "brand_id": [B1, B1, None],
                "brand_name": ["B1", "B1", None],
                "category": ["convenience_store", "convenience_store", "pharmacy"],
                "district_id": ["D01", "D01", "D02"],
            }
        ),
        "cards": pl.DataFrame({"card_id": [card_a, card_z], "member_id": ["M00000001", None]}),
        "members": pl.DataFrame(
            {
                "member_id": ["M00000001", "M00000002"],
                "account_id": ["W00000001", wallet_b],
                "gender": ["F", "M"],
                "birth_year": [1990, 1960],
                "home_district_id": ["D01", "D02"],
            }
        ),
        "districts": pl.DataFrame({"district_id": ["D01", "D02"], "name_en": ["North", "South"]}),
        "rfm": pl.DataFrame(
            {
                "member_id": ["M00000001"],
                "month_end": [dt.date(2025, 1, 31)],
                "segment": ["Loyal"],
                "fixed_segment": ["Champions"],
            }
        ),
    }
    if without_a:  # member A never used the card
        frames["purchases"] = frames["purchases"].filter(pl.col("card_id").ne_missing(card_a))
        frames["cards"] = frames["cards"].filter(pl.col("card_id") != card_a)
        frames["members"] = frames["members"].filter(pl.col("member_id") != "M00000001")
    return _built(con, frames, folder, period_start)


def _purchases(rows: list[tuple]) -> pl.DataFrame:
    columns = ["purchase_id", "purchased_at", "merchant_id", "amount", "payment_method", "card_id", "account_id"]
    return pl.DataFrame(rows, schema=columns, orient="row")


def _built(
    con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame], folder: Path, period_start: str = "2025-01-01"
) -> duckdb.DuckDBPyConnection:
    for name, frame in frames.items():
        con.register(name, frame.to_arrow())
    period = {"start": period_start, "end": "2025-02-28"}
    build(MartWriter(con, Snapshot("crafted", {"period": period, "synthetic": True}, ""), folder, folder))
    return con


def _marts(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    return {
        name: pl.from_arrow(con.sql(f"SELECT * FROM merchant_{name}").to_arrow_table()) for name in ("month", "cells")
    }


@pytest.fixture(scope="module")
def crafted_marts(tmp_path_factory) -> dict[str, pl.DataFrame]:
    return _marts(crafted(tmp_path_factory.mktemp("crafted")))


def test_which_units_count_a_customer_depends_on_no_one_else(tmp_path):
    """Customer keys are positions (B is customer 2 with A, 1 without); the pick a release
    chooses units by comes from the customer's own ID, so B's and Z's stay the same."""

    def picks(con) -> dict:
        rows = con.sql(
            "SELECT u.unit_id, c.month, c.gender, c.pick FROM merchant_customer_month c "
            "JOIN merchant_units u USING (unit) WHERE c.gender <> 'F'"
        ).fetchall()
        return {row[:3]: row[3] for row in rows}

    with_a, without_a = picks(crafted(tmp_path / "a")), picks(crafted(tmp_path / "b", without_a=True))
    assert with_a == without_a and len(with_a) == 6  # B at S1, B1 (Jan), S2, B1 (Feb); Z at S1, B1


def test_the_pick_orders_each_customers_units_at_random(tmp_path):
    """3,000 members each buy at the same four outlets in January and February. A release
    counts a customer at the units with the smallest picks, so the pick must rank a customer's
    units in an order of their own: every one of the 24 orders about as often (chi-square), and
    a member's first unit in February unrelated to January's. A hash that ranked the units
    alike for many customers would bias what every release counts."""
    n, outlets = 3_000, [f"S{i:07d}" for i in range(1, 5)]
    members = [f"M{i:08d}" for i in range(1, n + 1)]
    days = [dt.datetime(2025, 1, 6, 9), dt.datetime(2025, 2, 3, 9)]
    purchases = [
        (len(outlets) * len(days) * m + len(outlets) * d + o, day, outlet, 100, "card", f"K{m + 1:09d}", None)
        for m in range(n)
        for d, day in enumerate(days)
        for o, outlet in enumerate(outlets)
    ]
    frames = {
        "purchases": _purchases(purchases),
        "merchants": pl.DataFrame(
            {
                "merchant_id": outlets,
                "merchant_name": outlets,
                "brand_id": [None] * 4,
                "brand_name": [None] * 4,
                "category": ["pharmacy"] * 4,
                "district_id": ["D01"] * 4,
            },
            schema_overrides={"brand_id": pl.String, "brand_name": pl.String},
        ),
        "cards": pl.DataFrame({"card_id": [f"K{m + 1:09d}" for m in range(n)], "member_id": members}),
        "members": pl.DataFrame(
            {
                "member_id": members,
                "account_id": [f"W{m + 1:08d}" for m in range(n)],
                "gender": ["F"] * n,
                "birth_year": [1990] * n,
                "home_district_id": ["D01"] * n,
            }
        ),
        "districts": pl.DataFrame({"district_id": ["D01"], "name_en": ["North"]}),
        "rfm": pl.DataFrame(
            schema={"member_id": pl.String, "month_end": pl.Date, "segment": pl.String, "fixed_segment": pl.String}
        ),
    }
    con = _built(duckdb.connect(), frames, tmp_path)
    orders = con.sql(
        "SELECT customer, month, string_agg(u.unit_id, ' ' ORDER BY pick) AS units "
        "FROM merchant_customer_month JOIN merchant_units u USING (unit) GROUP BY ALL"
    ).pl()
    assert orders.height == 2 * n
    counts = orders.group_by("units").len()["len"].to_list()
    assert len(counts) == 24
    expected = 2 * n / 24
    chi2 = sum((c - expected) ** 2 / expected for c in counts)
    assert chi2 < 49.7  # 23 degrees of freedom: exceeded by chance once in 1,000
    first = orders.with_columns(pl.col("units").str.slice(0, 8)).pivot("month", index="customer", values="units")
    same = (first[first.columns[1]] == first[first.columns[2]]).mean()
    assert abs(same - 0.25) < 0.04  # five standard errors of a share of 0.25 among 3,000


def _cell_counts(cells: pl.DataFrame, unit: str, month: int, dimension: str) -> dict[str, int]:
    rows = cells.filter(
        (pl.col("unit_id") == unit) & (pl.col("month").dt.month() == month) & (pl.col("dimension") == dimension)
    )
    return dict(rows.select("value", "customers").rows())


def test_headline_by_hand(crafted_marts):
    month = crafted_marts["month"].sort("level", "unit_id", "month")
    row = month.filter((pl.col("unit_id") == S1) & (pl.col("month").dt.month() == 1)).row(0, named=True)
    # A (twice), B, Z: 3 customers, 4 purchases, NT$650, ticket 162.5
    assert (row["customers"], row["transactions"], row["revenue_ntd"], row["average_ticket_ntd"]) == (3, 4, 650, 162.5)
    chain = month.filter((pl.col("unit_id") == B1) & (pl.col("month").dt.month() == 2)).row(0, named=True)
    # A at S1 (NT$100) and S2 (NT$40), B at S2 (NT$60)
    assert (chain["customers"], chain["transactions"], chain["revenue_ntd"]) == (2, 3, 200)


def test_a_period_that_starts_mid_month_still_has_no_history_in_its_first_month(tmp_path):
    cells = _marts(crafted(tmp_path, period_start="2025-01-10"))["cells"]
    assert _cell_counts(cells, S1, 1, "customer_type") == {"no history": 3}
    assert _cell_counts(cells, S1, 2, "customer_type") == {"returning": 1}


def test_distributions_by_hand(crafted_marts):
    c = crafted_marts["cells"]
    assert _cell_counts(c, S1, 1, "visit_frequency") == {"1": 2, "2": 1}
    assert _cell_counts(c, S1, 1, "customer_type") == {"no history": 3}
    assert _cell_counts(c, S1, 2, "customer_type") == {"returning": 1}  # A came back
    assert _cell_counts(c, S2, 2, "customer_type") == {"new": 2}  # A's and B's first visits to S2
    assert _cell_counts(c, B1, 2, "customer_type") == {"returning": 2}  # both knew the chain
    assert _cell_counts(c, S1, 1, "age_band") == {"30-39": 1, "65+": 1, "unregistered": 1}
    assert _cell_counts(c, S1, 1, "gender") == {"F": 1, "M": 1, "unregistered": 1}
    # The fixed segment (the member's alone), not the quantile one.
    assert _cell_counts(c, S1, 1, "segment") == {"Champions": 1, "not scored": 1, "unregistered": 1}
    assert _cell_counts(c, S1, 1, "home_district") == {"North": 1, "South": 1, "unregistered": 1}
    # Tuesday 7 January: A at 08:20 and B at 12:00; Monday 08:10 A.
    hours = _cell_counts(c, S1, 1, "hour_of_week")
    assert hours == {"1-08": 1, "2-08": 1, "2-12": 1, "3-18": 1}
    # Where else each customer spent most that month. January: A NT$80 at the pharmacy; B
    # and Z nowhere else. At the pharmacy, A's NT$300 of convenience at S1.
    assert _cell_counts(c, S1, 1, "cross_category") == {"pharmacy": 1, "nothing elsewhere": 2}
    assert _cell_counts(c, S3, 1, "cross_category") == {"convenience_store": 1}
    assert _cell_counts(c, B1, 1, "cross_category") == {"pharmacy": 1, "nothing elsewhere": 2}
    # February: A bought convenience at S1 (NT$100) and S2 (NT$40), B only at S2. Each outlet
    # sees A buying convenience elsewhere; the chain sees nobody buying anything outside B1.
    assert _cell_counts(c, S1, 2, "cross_category") == {"convenience_store": 1}
    assert _cell_counts(c, S2, 2, "cross_category") == {"convenience_store": 1, "nothing elsewhere": 1}
    assert _cell_counts(c, B1, 2, "cross_category") == {"nothing elsewhere": 2}


def test_too_few_customers_gets_no_figures(crafted_marts):
    month = crafted_marts["month"].filter((pl.col("unit_id") == S1) & (pl.col("month").dt.month() == 1))
    p = merchant_profile.Profile(
        {"level": "outlet", "unit_id": S1}, "2025-01", month.row(0, named=True), crafted_marts["cells"], "district"
    )
    assert not p.enough_customers
    assert p.table("age_band").height == 0 and p.stand_outs() == []
    with pytest.raises(privacy.PrivacyError, match="not enough customers"):
        p.headline()


def test_default_month_is_the_last_whole_month(mart_con, snap, cut_short):
    assert merchant_profile.profile(mart_con, snap, "B0001").month == "2025-06"
    assert merchant_profile.profile(mart_con, cut_short, "B0001").month == "2025-05"
    assert merchant_profile.profile(mart_con, cut_short, "B0001", month="2025-06").month == "2025-06"


def test_unknown_merchant_and_bad_month_are_refused(mart_con, snap):
    with pytest.raises(ValueError, match="unknown merchant"):
        merchant_profile.profile(mart_con, snap, "S9999999")
    with pytest.raises(ValueError, match="unknown merchant"):  # named before the month
        merchant_profile.profile(mart_con, snap, "S9999999", month="2031-01")
    with pytest.raises(ValueError, match="month must be one of"):
        merchant_profile.profile(mart_con, snap, "B0001", month="2031-01")
    with pytest.raises(ValueError, match="peer scope"):
        merchant_profile.profile(mart_con, snap, "B0001", peer_scope="galaxy")


def test_published_reports_hold_no_identifier(mart_con, snapshot, tmp_path, monkeypatch):
    """Run the merchant batch and scan every file it publishes for any ID in the snapshot."""
    from pipelines.reporting import runner

    monkeypatch.setenv("CARD_INSIGHTS_REPORTS", str(tmp_path / "reports"))
    result = runner.run(snapshot, batch="merchants", force=True)
    assert result.ok
    ids = set()
    for table, column in (("members", "member_id"), ("members", "account_id"), ("cards", "card_id")):
        ids |= {r[0] for r in mart_con.execute(f"SELECT {column} FROM {table}").fetchall()}
    pattern = re.compile("|".join(p.strip("^$") for p in (MEMBER_ID, CARD_ID, ACCOUNT_ID)))
    files = [f for f in result.folder.rglob("*") if f.is_file()]
    assert len([f for f in files if f.suffix == ".html"]) >= 5
    for f in files:
        found = set(pattern.findall(f.read_text(errors="replace"))) & ids
        assert not found, f"{f.name} holds identifiers {sorted(found)[:3]}"


def _peer_con(s5_customers: int = 50) -> duckdb.DuckDBPyConnection:
    """Pharmacies in June: S0000001 in district D1 with two more there (S2, S3), three in D2,
    3 km east (S4-S6), one in D3, 31 km east (S7); S8 belongs to S1's chain B0001, S9 sells
    something else. Chains: B0001 (D1) and five rivals in D2 and D3. Each customer buys at
    one unit only, so that the figures are the units' own."""
    outlets = [
        # unit, district, customers, transactions, revenue, (F, M)
        ("S0000001", "D1", 40, 50, 5000, (25, 15)),
        ("S0000002", "D1", 20, 30, 3000, (12, 8)),
        ("S0000003", "D1", 30, 40, 2000, (15, 15)),
        ("S0000004", "D2", 10, 10, 1000, (4, 6)),
        ("S0000005", "D2", s5_customers, max(60, s5_customers), 6000, (30, s5_customers - 30)),
        ("S0000006", "D2", 40, 40, 4000, (20, 20)),
        ("S0000007", "D3", 100, 100, 10000, (10, 90)),
        ("S0000008", "D1", 60, 80, 8000, (30, 30)),
        ("S0000009", "D1", 70, 90, 9000, (35, 35)),
    ]
    chains = [(f"B000{i}", "D1" if i == 1 else "D2" if i < 4 else "D3", 100, 120, 12000, (50, 50)) for i in range(1, 7)]
    units = [
        Unit(u, "fuel" if u == "S0000009" else "pharmacy", d, "B0001" if u in ("S0000001", "S0000008") else None)
        for u, d, *_ in outlets
    ] + [Unit(u, "pharmacy", d) for u, d, *_ in chains]
    crowd = []
    for unit, _, n, transactions, revenue, (women, _men) in outlets + chains:
        # Visits and NT$ spread so that they add up to the unit's totals.
        for i in range(n):
            visits = transactions // n + (i < transactions % n)
            amount = revenue // n + (i < revenue % n)
            crowd.append(
                Person((unit,), dt.date(2025, 6, 1), "F" if i < women else "M", visits=visits, amount_ntd=amount)
            )
    districts = pl.DataFrame(
        {
            "district_id": ["D1", "D2", "D3"],
            "name_en": ["One", "Two", "Three"],
            "lon": [120.30, 120.33, 120.60],
            "lat": [22.62] * 3,
        }
    )
    return customer_marts(crowd, units, districts)


def test_auto_peer_scope_takes_the_narrowest_with_five_peers_and_figures_by_hand():
    p = published(_peer_con(), EXACT, "S0000001", "2025-06")
    # D1 holds two other pharmacies (S8 is S1's own chain, S9 not a pharmacy): too few, so
    # auto widens to nearby, D1 and D2 within 5 km: S2-S6. S7 is 31 km away.
    assert (p.peer_scope, p.peer_units) == ("nearby", ["S0000002", "S0000003", "S0000004", "S0000005", "S0000006"])
    # Median of 20, 30, 10, 50, 40 customers; NT$16,000 over 180 transactions.
    assert p.peer_headline() == {"merchants": 5, "median_customers": 30.0, "average_ticket_ntd": 88.9}
    # Pooled over the five: F 12+15+4+30+20 = 81 and M 8+15+6+20+20 = 69 of 150 customers.
    # S1 itself: F 25 and M 15 of 40.
    assert p.compared("gender").rows() == [("F", 62.5, 54.0), ("M", 37.5, 46.0)]


def test_explicit_peer_scopes_and_the_peer_rules():
    con = _peer_con()
    district = published(con, EXACT, "S0000001", "2025-06", peer_scope="district")
    assert district.peer_units == ["S0000002", "S0000003"]
    assert district.peers == (False, "the peer group has 2 merchants; at least 5 are needed")
    assert district.compared("gender")["peer_share_pct"].null_count() == 2
    with pytest.raises(privacy.PrivacyError, match="at least 5"):
        district.peer_headline()
    city = published(con, EXACT, "S0000001", "2025-06", peer_scope="city")
    assert city.peer_units == [f"S000000{i}" for i in range(2, 8)] and city.peers == (True, "")
    # S5 with 500 of the nearby group's 600 customers: one competitor could be read off.
    dominated = published(_peer_con(s5_customers=500), EXACT, "S0000001", "2025-06")
    assert dominated.peer_scope == "nearby"
    assert dominated.peers == (False, "one merchant takes more than half of the peer group's customers")


def test_a_chain_is_compared_with_the_other_chains_of_its_category_city_wide():
    p = published(_peer_con(), EXACT, "B0001", "2025-06")
    assert (p.peer_scope, p.peer_units) == ("city", ["B0002", "B0003", "B0004", "B0005", "B0006"])
    assert p.peer_headline()["merchants"] == 5


def test_a_large_peer_group_keeps_a_fixed_sample_of_twelve():
    crowd = [p for i in range(1, 22) for p in people(15, [f"S{i:07d}"], dt.date(2025, 6, 1))]
    con = customer_marts(crowd)
    first = published(con, EXACT, "S0000001", "2025-06")
    assert first.peer_scope == "district" and len(first.peer_units) == PEER_MAX_MERCHANTS == 12
    assert set(first.peer_units) < {f"S{i:07d}" for i in range(2, 22)}
    # The same sample every time, and another merchant's sample is its own.
    assert published(con, EXACT, "S0000001", "2025-06").peer_units == first.peer_units
    assert set(published(con, EXACT, "S0000002", "2025-06").peer_units) != set(first.peer_units)


def test_every_distribution_of_a_real_profile_has_cells_to_show(mart_con, snap):
    """Each table of the report can show something for a merchant with customers (the
    cross-category table once published nothing: its values were never listed)."""
    p = merchant_profile.profile(mart_con, snap, "B0001")
    assert p.enough_customers
    for dimension in merchant_profile.DIMENSIONS:
        assert p.table(dimension)["share_pct"].drop_nulls().len() > 0, dimension


def test_cross_category_by_a_second_method(mart_con):
    """Where else each customer spent most, worked out the plain way from the published mart:
    every category of the customer's month, less what was spent at this unit, the largest
    (ties by name) above zero."""
    rows = pl.from_arrow(
        mart_con.sql(
            "SELECT m.unit, m.customer, m.month, m.amount_ntd, m.cross_category AS got, u.category "
            "FROM merchant_customer_month m JOIN merchant_units u USING (unit)"
        ).to_arrow_table()
    )
    keys = ["unit", "customer", "month"]
    spend = (
        rows.filter(pl.col("unit") > 0)
        .group_by("customer", "month", pl.col("category").alias("elsewhere"))
        .agg(pl.col("amount_ntd").sum().alias("ntd"))
    )
    pairs = rows.join(spend, on=["customer", "month"]).with_columns(
        ntd=pl.col("ntd") - pl.when(pl.col("elsewhere") == pl.col("category")).then(pl.col("amount_ntd")).otherwise(0)
    )
    first = (
        pairs.filter(pl.col("ntd") > 0)
        .sort([*keys, "ntd", "elsewhere"], descending=[False, False, False, True, False])
        .group_by(keys, maintain_order=True)
        .first()
        .select(*keys, expected="elsewhere")
    )
    checked = rows.join(first, on=keys, how="left").with_columns(pl.col("expected").fill_null("nothing elsewhere"))
    assert checked.height > 1000
    wrong = checked.filter(pl.col("got") != pl.col("expected"))
    assert wrong.height == 0, wrong.head(5)
    # The case that needs care is common enough here to be tested: the unit's own category is
    # the customer's first, and what they spent at the unit makes another category win.
    top = spend.sort("ntd", "elsewhere", descending=[True, False]).group_by("customer", "month").first()
    overtaken = checked.join(top, on=["customer", "month"]).filter(
        (pl.col("category") == pl.col("elsewhere")) & (pl.col("got") != pl.col("elsewhere"))
    )
    assert overtaken.height > 10
