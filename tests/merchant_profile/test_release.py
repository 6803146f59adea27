"""A release bounds what one member can change in everything it publishes, as the accounting
assumes: by hand on one heavy customer, then as a property over random crowds (one member
taken out changes at most max_units units' figures, each by at most its cap)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.core import catalog
from pipelines.merchant_profile.marts import SQL
from pipelines.merchant_profile.release import DIMENSIONS, HEADLINE, compute
from pipelines.privacy.accounting import load_privacy
from pipelines.privacy.release import Release
from tests.merchant_profile.customers import Person, customer_marts, people, pick

CONFIG = load_privacy()
#: The configured bounds, with noise too small to change any count: the figures as bounded.
BOUNDED = Release("bounded", dataclasses.replace(CONFIG, sigma=1e-7), b"test")
JUNE = dt.date(2025, 6, 1)
JULY = dt.date(2025, 7, 1)
UNITS = [f"S{i:07d}" for i in range(1, 11)]  # more than max_units


def _figures(persons: list[Person], units: list[str] = UNITS) -> tuple[dict, dict]:
    con = customer_marts(persons)
    known = {u for p in persons for u in p.units}
    figures = compute(con, BOUNDED, [(u, "2025-06") for u in units if u in known])
    heads = {(r["unit_id"], k): r[k] for r in figures.heads.iter_rows(named=True) for k in HEADLINE}
    cells = {(u, d, v): n for u, _, d, v, n in figures.cells.iter_rows()}
    return heads, cells


def test_a_heavy_customer_counts_in_max_units_units_within_the_caps():
    """Twelve regulars at each of ten outlets, and one customer who shops at all ten, 20 times,
    NT$5,000 and in five hours of the week at each: they count at the 8 with the smallest pick."""
    assert CONFIG.max_units == 8 < len(UNITS)
    crowd = [p for u in UNITS for p in people(12, [u], JUNE, visits=1, amount_ntd=100, hours=("1-08",))]
    hours = ("2-09", "2-10", "2-11", "2-12", "2-13")
    heavy = Person(tuple(UNITS), JUNE, gender="F", visits=20, amount_ntd=5000, hours=hours, key=999)
    heads, cells = _figures([*crowd, heavy])
    # The test's units have keys 1-10 in the order of their IDs.
    order = sorted(range(1, 11), key=lambda key: pick(999, key, JUNE))
    counted = {UNITS[key - 1] for key in order[: CONFIG.max_units]}
    for unit in UNITS:
        if unit in counted:
            assert heads[(unit, "customers")] == 13
            assert heads[(unit, "transactions")] == 12 + CONFIG.max_visits
            assert heads[(unit, "revenue_ntd")] == 1200 + CONFIG.max_spend_ntd
            assert cells[(unit, "gender", "F")] == 1
            assert sum(cells[(unit, "hour_of_week", h)] for h in hours) == CONFIG.max_hours
            # Five hours of as many purchases each: the earliest in the week count.
            assert [cells[(unit, "hour_of_week", h)] for h in hours] == [1] * CONFIG.max_hours + [0] * (
                len(hours) - CONFIG.max_hours
            )
        else:
            assert (heads[(unit, "customers")], heads[(unit, "transactions")]) == (12, 12)
            assert cells[(unit, "gender", "F")] == 0
    # A release of only the two left out counts the heavy customer there (the bound is per release).
    left_out = [u for u in UNITS if u not in counted]
    heads, _ = _figures([*crowd, heavy], left_out)
    assert [heads[(u, "customers")] for u in left_out] == [13, 13]


def _changes(a: tuple[dict, dict], b: tuple[dict, dict]) -> dict[str, dict[str, int]]:
    """Per unit, how much each figure moved (headline figures; each distribution's cells in all)."""
    moved: dict[str, dict[str, int]] = {}
    for key in set(a[0]) | set(b[0]):
        unit, figure = key
        moved.setdefault(unit, {})[figure] = abs(a[0].get(key, 0) - b[0].get(key, 0))
    for key in set(a[1]) | set(b[1]):
        unit, dimension, _ = key
        row = moved.setdefault(unit, {})
        row[dimension] = row.get(dimension, 0) + abs(a[1].get(key, 0) - b[1].get(key, 0))
    return {unit: row for unit, row in moved.items() if any(row.values())}


_person = st.builds(
    Person,
    units=st.lists(st.sampled_from(UNITS), min_size=1, max_size=len(UNITS), unique=True).map(tuple),
    month=st.just(JUNE),
    gender=st.sampled_from(["F", "M"]),
    age_band=st.sampled_from(["20-29", "30-39", "65+"]),
    visits=st.integers(1, 30),
    amount_ntd=st.integers(1, 6000),
    customer_type=st.sampled_from(["new", "returning"]),
    hours=st.lists(st.sampled_from(["1-08", "1-09", "3-12", "5-18", "7-20"]), min_size=1, max_size=5, unique=True).map(
        tuple
    ),
)


def test_a_release_counts_each_customers_busiest_hours_then_the_earliest():
    """rpt_release_hours on hand-made hour rows: per unit, customer and month, the max_hours
    hours with most purchases (ties: the earliest in the week); customers it does not count
    give no hour."""
    rows = [
        # unit, customer, month, dow, hour, purchases: customer 1 busiest on Friday evening
        (1, 1, JUNE, 1, 8, 1),
        (1, 1, JUNE, 5, 18, 6),
        (1, 1, JUNE, 3, 12, 2),
        (1, 1, JUNE, 2, 9, 2),
        (1, 1, JUNE, 7, 23, 4),
        (2, 1, JUNE, 4, 10, 1),  # another unit: ranked apart
        (1, 1, JULY, 6, 20, 1),  # another month: ranked apart
        (1, 2, JUNE, 6, 11, 9),  # a customer the release does not count
    ]
    con = duckdb.connect()
    hours = pl.DataFrame(
        [(*r, 10 * r[-1]) for r in rows],
        schema=["unit", "customer", "month", "dow", "hour", "purchases", "amount_ntd"],
        orient="row",
    )
    con.register("merchant_customer_hours", hours.to_arrow())
    counted = pl.DataFrame({"unit": [1, 2, 1], "customer": [1, 1, 1], "month": [JUNE, JUNE, JULY]})
    con.register("counted", counted.to_arrow())
    kept = catalog.frame(con, SQL.load("rpt_release_hours"), {"counted": "counted", "max_hours": 3})
    got = sorted(kept.select("unit", "month", "dow", "hour").iter_rows())
    # purchases 6 and 4, then of the two hours of 2 the earlier (Tuesday 09 before Wednesday 12)
    assert got == [(1, JUNE, 2, 9), (1, JUNE, 5, 18), (1, JUNE, 7, 23), (1, JULY, 6, 20), (2, JUNE, 4, 10)]
    assert kept.columns == hours.columns


@settings(max_examples=40)
@given(crowd=st.lists(_person, min_size=2, max_size=25), data=st.data())
def test_property_one_member_moves_at_most_max_units_units_each_within_its_caps(crowd, data):
    crowd = [dataclasses.replace(p, key=i) for i, p in enumerate(crowd, start=1)]  # each their own
    gone = data.draw(st.integers(0, len(crowd) - 1))
    moved = _changes(_figures(crowd), _figures(crowd[:gone] + crowd[gone + 1 :]))
    assert len(moved) <= CONFIG.max_units
    caps = CONFIG.caps()
    for unit, row in moved.items():
        for figure, change in row.items():
            assert change <= caps[figure], f"{unit} {figure} moved by {change}"
    assert set(caps) == {*HEADLINE, *DIMENSIONS}


def test_every_figure_of_every_unit_is_published_noisy_even_when_empty():
    con = customer_marts(people(15, ["S0000001"], JUNE) + people(15, ["S0000002"], JUNE, gender="F"))
    figures = compute(con, Release("r", CONFIG, b"k"), [("S0000001", "2025-06"), ("S0000002", "2025-06")])
    cells = figures.cells.filter(pl.col("unit_id") == "S0000001")
    # The empty cell F of S1 is published with noise like any other: rarely exactly 0.
    assert cells.filter(pl.col("dimension") == "gender").height == 4
    assert cells.filter(pl.col("dimension") == "hour_of_week").height == 7 * 24
    assert (cells["customers"] != 0).mean() > 0.3


def test_removing_a_customer_moves_no_other_customers_units():
    """The case Hypothesis found: the only customer of S0000006 leaves. Unit keys come from the
    register, so the others' picks of units stay as they were and at most max_units units move."""

    def person(units: tuple[str, ...], visits: int, amount: int, hours: tuple[str, ...], key: int) -> Person:
        return Person(units, JUNE, "F", "20-29", visits, amount, "new", hours, key)

    crowd = [
        person(tuple(UNITS), 20, 4091, ("1-08",), 1),
        person(("S0000001", "S0000002", "S0000003", "S0000004"), 1, 1, ("1-08",), 2),
        person(("S0000001", "S0000002", "S0000003", "S0000010", "S0000004", "S0000005"), 15, 69, ("1-08", "1-09"), 3),
        person(("S0000001",), 27, 5502, ("1-08",), 4),
        person(tuple(u for u in UNITS if u != "S0000006"), 1, 1, ("1-08",), 5),
    ]
    moved = _changes(_figures(crowd), _figures(crowd[1:]))
    assert len(moved) <= CONFIG.max_units
