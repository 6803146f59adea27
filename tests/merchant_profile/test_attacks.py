"""A merchant holding every published report (of this month's batch and last month's) tries
to work out a hidden or noisy figure exactly, by each kind of differencing found against the
old rules. On figures without noise each attack succeeds (so the attack is real); through a
release it must fail: over many releases the attacker's answer is rarely the true value and
is typically several customers off."""

from __future__ import annotations

import datetime as dt
import statistics

import polars as pl
import pytest

from pipelines.merchant_profile import profile as merchant_profile
from pipelines.merchant_profile.profile import profile_of
from pipelines.merchant_profile.release import FIXED_VALUES
from pipelines.privacy.accounting import load_privacy
from pipelines.privacy.release import Release
from tests.merchant_profile.customers import EXACT, customer_marts, people, release_of

CONFIG = load_privacy()
RELEASES = [Release(f"release {i}", CONFIG, b"attack test key") for i in range(30)]
JUNE, MAY = dt.date(2025, 6, 1), dt.date(2025, 5, 1)


def batch(con, release, merchants, month="2025-06"):
    """Every report of one batch, as its merchants read them: one release for all of them."""
    figures = release_of(con, release, [(m, month) for m in merchants])
    return [profile_of(con, figures, m, month) for m in merchants]


def _count(p: merchant_profile.Profile, dimension: str, value: str) -> int:
    """What a reader can work out of a published cell: its noisy count (a table's shares are of
    its shown cells' counts, to 0.1 %, which pins the counts down); 0 for a cell left empty."""
    row = p.table(dimension).filter(pl.col("value") == value)
    count = row["customers"][0] if row.height else None
    return 0 if count is None else count


def _attack_results(con, attack, truth: int) -> tuple[bool, float, float]:
    """Whether the attack works on exact figures, and through releases: how often it hits the
    true value, and its typical error."""
    works_exactly = attack(con, EXACT) == truth
    answers = [attack(con, r) for r in RELEASES]
    hits = sum(a == truth for a in answers) / len(answers)
    return works_exactly, hits, statistics.median(abs(a - truth) for a in answers)


def _assert_defeated(con, attack, truth: int) -> None:
    works_exactly, hits, typical_error = _attack_results(con, attack, truth)
    assert works_exactly, "the attack must recover the value from exact figures"
    assert hits <= 0.2, f"the attacker hit the true value in {hits:.0%} of releases"
    assert typical_error >= 3, f"the attacker is typically only {typical_error} off"


def test_chain_minus_its_other_outlets():
    """A chain's report minus its other outlets' gives a withheld outlet: all 9 of its
    customers women aged 50-64."""
    con = customer_marts(
        people(40, ["S0000001", "B0001"], JUNE)
        + people(30, ["S0000002", "B0001"], JUNE, gender="F")
        + people(9, ["S0000003", "B0001"], JUNE, gender="F", age_band="50-64")
    )

    def withheld(con, release):
        chain, *outlets = batch(con, release, ["B0001", "S0000001", "S0000002"])
        return chain.totals["customers"] - sum(o.totals["customers"] for o in outlets)

    def withheld_women(con, release):
        chain, *outlets = batch(con, release, ["B0001", "S0000001", "S0000002"])
        return _count(chain, "gender", "F") - sum(_count(o, "gender", "F") for o in outlets)

    _assert_defeated(con, withheld, 9)
    _assert_defeated(con, withheld_women, 9)


def test_month_against_month_in_a_closed_group():
    """Twelve regulars in May; in June the eleven men came back: 'June minus May' names the
    one who left, a woman aged 40-49."""
    con = customer_marts(
        people(11, ["S0000001"], MAY, visits=4)
        + people(1, ["S0000001"], MAY, gender="F", age_band="40-49", visits=4)
        + people(11, ["S0000001"], JUNE, visits=4)
    )

    def women_who_left(con, release):
        # Each month's batch is a release of its own.
        may = batch(con, Release(release.id + " May", release.config, release.key), ["S0000001"], "2025-05")[0]
        june = batch(con, release, ["S0000001"])[0]
        return may.totals["customers"] - june.totals["customers"]

    _assert_defeated(con, women_who_left, 1)


def test_the_tables_of_one_report_against_the_headline():
    """Thirty customers, one of them the only woman over 65: the headline minus the age bands
    shown gives the hidden band."""
    con = customer_marts(people(29, ["S0000001"], JUNE) + people(1, ["S0000001"], JUNE, gender="F", age_band="65+"))

    def over_65(con, release):
        p = batch(con, release, ["S0000001"])[0]
        shown = sum(_count(p, "age_band", band) for band in FIXED_VALUES["age_band"] if band != "65+")
        return p.totals["customers"] - shown

    _assert_defeated(con, over_65, 1)


def test_visit_bins_against_the_headline_transactions():
    """Bins '1' and '2' are exact counts: with the headline's transactions they pin down the
    customers who came 3 times (the only others)."""
    con = customer_marts(
        people(20, ["S0000001"], JUNE, visits=1)
        + people(20, ["S0000001"], JUNE, visits=2)
        + people(3, ["S0000001"], JUNE, visits=3)
    )

    def thrice(con, release):
        p = batch(con, release, ["S0000001"])[0]
        once, twice = _count(p, "visit_frequency", "1"), _count(p, "visit_frequency", "2")
        return round((p.totals["transactions"] - once - 2 * twice) / 3)

    _assert_defeated(con, thrice, 3)


def test_the_peer_median_is_no_peer_s_count():
    """Five peers: their median customers was one peer's exact count."""
    crowd = people(60, ["S0000001"], JUNE)
    for i, n in enumerate((21, 34, 47, 58, 73), start=2):
        crowd += people(n, [f"S000000{i}"], JUNE)
    con = customer_marts(crowd)

    def median_peer(con, release):
        return round(batch(con, release, ["S0000001"])[0].peer_headline()["median_customers"])

    _assert_defeated(con, median_peer, 47)


@pytest.mark.parametrize("release", RELEASES[:3], ids=lambda r: r.id)
def test_the_same_release_publishes_the_same_figures(release):
    con = customer_marts(people(40, ["S0000001"], JUNE))
    first, again = (batch(con, release, ["S0000001"])[0] for _ in range(2))
    assert first.totals == again.totals and first.cells.equals(again.cells)


@pytest.mark.parametrize("dimension", ["customer_type", "age_band"])
def test_a_hidden_cells_noisy_count_changes_nothing_its_table_shows(dimension):
    """Shares of the sum of every cell, hidden ones included, let a reader solve for a hidden
    cell's noisy count (with shares to 0.1 % and the cells as integers, only one count fits):
    the shares are of the headline's customers, so whatever the hidden cell holds, the table
    reads the same."""
    values = FIXED_VALUES[dimension]

    def shown(hidden: int) -> pl.DataFrame:
        counts = [12, 15, hidden, *[0] * (len(values) - 3)]
        cells = pl.DataFrame({"dimension": dimension, "value": values, "customers": counts})
        return merchant_profile._shown(cells, dimension, customers=32)

    tables = [shown(hidden) for hidden in range(10)]
    assert all(t.equals(tables[0]) for t in tables)
    assert sorted(tables[0]["share_pct"].drop_nulls()) == pytest.approx([100 * 12 / 32, 100 * 15 / 32], abs=0.05)


def test_no_table_is_shown_when_the_headlines_customers_are_too_uncertain_to_show():
    """A headline hidden as too uncertain would be given away by shares of it, and each share
    would be uncertain by more than 50 points: the tables are left out with it."""
    con = customer_marts(people(12, ["S0000001"], JUNE))
    for release in RELEASES:
        p = batch(con, release, ["S0000001"])[0]
        if p.enough_customers and p.headline()["customers"] is None:
            assert all(p.table(d).is_empty() for d in ("age_band", "gender", "customer_type"))
            return
    pytest.fail("no release of 12 customers had its customers too uncertain to show")
