"""Commute carbon: detection, distances and kg CO2e against figures worked out by hand."""

from __future__ import annotations

import csv
import datetime as dt

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import privacy
from pipelines.commute_carbon import emissions
from pipelines.commute_carbon.detect import summarise
from pipelines.commute_carbon.marts import commute_legs, commute_marts
from pipelines.commute_carbon.report import EmployerReport, employer_report
from pipelines.core.paths import REFERENCE_DIR

with open(REFERENCE_DIR / "kaohsiung_rail_stations.csv", encoding="utf-8") as f:
    _ZH = {r["station_id"]: r["district_zh"] for r in csv.DictReader(f)}
with open(REFERENCE_DIR / "kaohsiung_districts.csv", encoding="utf-8") as f:
    _DISTRICT = {r["name_zh"]: r["district_id"] for r in csv.DictReader(f)}


def district(station: str) -> str:
    return _DISTRICT[_ZH[station]]


def _trip(card, mode, day, start, minutes, o_st, d_st, o_d, d_d, km):
    t0 = dt.datetime.combine(day, dt.time(*start))
    return (card, mode, t0, t0 + dt.timedelta(minutes=minutes), o_st, d_st, o_d, d_d, km)


def crafted() -> duckdb.DuckDBPyConnection:
    """Week of 6-11 January 2025. K1 commutes bus + MRT R3 <-> R10; K2 light rail C1 <-> C20;
    K3 (not a staff card) rides exactly like K1. Recorded rail distances are wrong on purpose."""
    home, work = district("R3"), district("R10")
    trips = []
    for d in range(6, 11):
        day = dt.date(2025, 1, d)
        for card in ("K1", "K3"):
            trips += [
                _trip(card, "bus", day, (7, 50), 10, None, None, home, home, 3.0),
                _trip(card, "mrt", day, (8, 5), 20, "R3", "R10", home, work, 99.0),
                _trip(card, "mrt", day, (18, 0), 20, "R10", "R3", work, home, 99.0),
                _trip(card, "bus", day, (18, 25), 10, None, None, home, home, 3.0),
            ]
        trips += [
            _trip("K1", "mrt", day, (13, 0), 20, "R3", "R10", home, work, 99.0),  # midday: no
            _trip("K2", "lrt", day, (8, 0), 25, "C1", "C20", district("C1"), district("C20"), 99.0),
            _trip("K2", "lrt", day, (17, 30), 25, "C20", "C1", district("C20"), district("C1"), 99.0),
        ]
    trips += [
        _trip("K1", "mrt", dt.date(2025, 1, 11), (8, 0), 20, "R3", "R10", home, work, 99.0),  # Saturday: no
        _trip(
            "K1", "bike", dt.date(2025, 1, 8), (19, 30), 15, None, None, work, work, 2.0
        ),  # evening, work to work: no
    ]
    frame = pl.DataFrame(
        trips,
        schema=[
            "card_id",
            "mode",
            "tap_in_at",
            "tap_out_at",
            "origin_station_id",
            "destination_station_id",
            "origin_district_id",
            "destination_district_id",
            "distance_km",
        ],
        orient="row",
    ).with_row_index("trip_id", offset=1)
    cards = pl.DataFrame(
        {"card_id": ["K1", "K2", "K3"], "card_type": ["staff", "staff", "adult"], "employer_id": ["E1", "E1", None]}
    )
    con = duckdb.connect()
    con.register("trips", frame.to_arrow())
    con.register("cards", cards.to_arrow())
    con.register("districts", pl.DataFrame({"district_id": sorted(_DISTRICT.values())}).to_arrow())
    return con


@pytest.fixture(scope="module")
def legs() -> pl.DataFrame:
    return commute_legs(crafted())


def test_commutes_found_and_others_not(legs):
    assert set(legs["card_id"]) == {"K1", "K2"}  # K3 is not a staff card
    per_card = (
        legs.group_by("card_id")
        .agg(
            pl.struct("journey_id").n_unique().alias("journeys"),
            pl.len().alias("legs"),
            pl.col("day").n_unique().alias("days"),
        )
        .sort("card_id")
    )
    # K1: mornings and evenings Monday-Friday, two legs each; not the midday, Saturday or bike rides.
    assert per_card.rows() == [("K1", 10, 20, 5), ("K2", 10, 10, 5)]
    assert set(legs.filter(pl.col("card_id") == "K1")["mode"]) == {"bus", "mrt"}


def test_rail_distances_along_the_lines_and_the_loop(legs):
    km = legs.group_by("mode").agg(pl.col("km").sum()).sort("mode")
    # MRT R3 -> R10 is 9.81 km, ten times; the loop C1 -> C20 is 22.1 - 11.73 = 10.37 km the
    # short way, ten times; bus 3.0 km as recorded, ten times.
    assert dict(km.rows()) == pytest.approx({"bus": 30.0, "lrt": 103.7, "mrt": 98.1})


@pytest.fixture(scope="module")
def marts(legs) -> dict[str, pl.DataFrame]:
    return {
        name: frame.join(legs.select("card_id", "employer_id").unique(), on="card_id", maintain_order="left")
        for name, frame in summarise(legs).items()
    }


def test_commute_marts_by_card(marts):
    # K1 and K2: five days, ten journeys; K1's journeys have two legs each (bus, MRT).
    assert marts["commute_days"].select("card_id", "commuting_days", "commute_trips").rows() == [
        ("K1", 5, 10),
        ("K2", 5, 10),
    ]
    assert marts["commute_pkm"].select("card_id", "mode", "legs").rows() == [
        ("K1", "bus", 10),
        ("K1", "mrt", 10),
        ("K2", "lrt", 10),
    ]


def test_the_marts_match_the_legs_on_the_test_snapshot(snapshot):
    from pipelines.core import catalog

    with catalog.connect(snapshot) as con:
        legs = commute_legs(con)
        built = commute_marts(con)
    days = legs.group_by("card_id").agg(pl.col("day").n_unique(), pl.col("journey_id").n_unique()).sort("card_id")
    by_card = built["commute_days"].group_by("card_id").agg(pl.col("commuting_days", "commute_trips").sum())
    assert by_card.sort("card_id").rows() == days.rows()
    assert built["commute_pkm"]["passenger_m"].sum() / 1000 == pytest.approx(legs["km"].sum())


def test_month_by_month_finds_what_the_whole_period_at_once_finds(snap):
    """The marts build detects one month at a time, so that memory holds a month's staff trips;
    journeys that cross a month's end begin at night, outside both commute windows, so nothing
    is lost at the cut."""
    from pipelines.core import catalog

    with catalog.connect(snap) as con:
        whole = commute_marts(con)
        by_month = commute_marts(con, since=snap.start, until=snap.end)
    for name, frame in whole.items():
        assert frame.height > 100, name
        assert_frame_equal(by_month[name].sort(frame.columns), frame.sort(frame.columns))


def test_employer_month_counts(marts):
    assert emissions.employer_month(marts["commute_days"]).rows() == [("E1", dt.date(2025, 1, 1), 2, 10, 20)]


def test_kg_co2e_by_hand(marts):
    factors = emissions.load_factors()
    mix = emissions.parse_mix("scooter=0.5,car=0.5", factors)
    pkm = emissions.pkm_by_mode(marts["commute_pkm"], ["employer_id"])
    out = emissions.emissions(pkm, factors, mix, ["employer_id"]).row(0, named=True)
    assert out["pkm"] == pytest.approx(231.8)
    # caused: MRT 98.1 x 0.043 + bus 30 x 0.056 + LRT 103.7 x 0.059 (and the low / high factors)
    assert out["caused_kg_central"] == pytest.approx(4.2183 + 1.68 + 6.1183)
    assert out["caused_kg_low"] == pytest.approx(2.943 + 1.38 + 4.148)
    assert out["caused_kg_high"] == pytest.approx(5.3955 + 3.06 + 7.7775)
    # counterfactual per pkm: central 0.5 x 0.101 + 0.5 x 0.183 / 1.2 = 0.12675; low shifts 10
    # points to scooters with low factors: 0.6 x 0.055 + 0.4 x 0.161 / 1.2; high the reverse.
    assert out["counterfactual_kg_central"] == pytest.approx(231.8 * 0.12675)
    assert out["counterfactual_kg_low"] == pytest.approx(231.8 * (0.6 * 0.055 + 0.4 * 0.161 / 1.2))
    assert out["counterfactual_kg_high"] == pytest.approx(231.8 * (0.4 * 0.114 + 0.6 * 0.275 / 1.2))
    assert out["avoided_kg_central"] == pytest.approx(231.8 * 0.12675 - 12.0166)
    assert out["avoided_kg_low"] == pytest.approx(231.8 * (0.6 * 0.055 + 0.4 * 0.161 / 1.2) - 16.233)
    assert out["avoided_kg_high"] == pytest.approx(231.8 * (0.4 * 0.114 + 0.6 * 0.275 / 1.2) - 8.471)


def test_default_mix_comes_from_the_survey():
    mix = emissions.default_mix()
    assert mix["scooter"] == pytest.approx(0.494 / (0.494 + 0.227))
    assert mix["car"] == pytest.approx(0.227 / (0.494 + 0.227))


@pytest.mark.parametrize("text", ["scooter=0.7", "scooter=0.5,bus=0.5", "scooter=half", "scooter=1.2,car=-0.2"])
def test_bad_mixes_are_refused(text):
    with pytest.raises(ValueError):
        emissions.parse_mix(text, emissions.load_factors())


def test_detected_mode_patterns_match_the_planted_ones(snapshot, truth):
    """Each employee's commute pattern, read from their detected commutes, against the plant."""
    from pipelines.core import catalog

    with catalog.connect(snapshot) as con:
        legs = commute_legs(con)
    journeys = legs.group_by("card_id", "journey_id").agg(pl.col("mode").unique().sort().alias("modes"))
    pattern = (
        journeys.with_columns(
            pl.when(pl.col("modes").list.len() == 2)
            .then(pl.lit("bus+rail"))
            .when(pl.col("modes").list.first().is_in(["mrt", "lrt"]))
            .then(pl.lit("rail"))
            .otherwise(pl.col("modes").list.first())
            .alias("pattern")
        )
        .group_by("card_id", "pattern")
        .len()
        .sort("len", "pattern", descending=[True, False])
        .group_by("card_id", maintain_order=True)
        .first()
    )
    planted = truth["employees"].select("card_id", "employer_id", pl.col("commute_pattern").alias("planted"))
    both = planted.join(pattern, on="card_id", how="inner")
    assert both.height >= 0.9 * planted.height  # almost every employee's commutes are found
    assert (both["pattern"] == both["planted"]).mean() >= 0.95  # and read as the planted pattern
    for employer, group in both.group_by("employer_id"):
        detected = group["pattern"].value_counts(normalize=True).rows()
        expected = dict(group["planted"].value_counts(normalize=True).rows())
        for p, share in detected:
            # Stated tolerance: 5 percentage points per pattern and employer.
            assert share == pytest.approx(expected.get(p, 0), abs=0.05), (employer, p)


def test_employer_report_totals_agree_with_the_mart(mart_con, snap):
    employer = mart_con.execute("SELECT min(employer_id) FROM employers").fetchall()[0][0]
    report = employer_report(mart_con, employer, whole_months=snap.whole_months())
    assert not report.empty
    h = report.headline()
    monthly = report.monthly()
    assert h["commute_trips"] == monthly["commute_trips"].sum()
    assert h["pkm"] == pytest.approx(report.by_mode()["pkm"].sum())
    assert h["avoided_kg_low"] <= h["avoided_kg_central"] <= h["avoided_kg_high"]
    spread = report.employee_distribution()
    shown = spread["employees"].drop_nulls()
    assert all(n == 0 or n >= privacy.K_MIN for n in shown)  # small bands suppressed
    assert spread["employees"].null_count() != 1  # never one blank band next to the total
    # Fixed bands, every one listed: the same for every employer, whatever its figures.
    assert spread["kg_per_month"].to_list() == ["below 0", "0-10", "10-20", "20-30", "30-50", "50 or more"]


def test_default_period_is_the_whole_months(mart_con, snap, cut_short):
    employer = mart_con.execute("SELECT min(employer_id) FROM employers").fetchall()[0][0]
    assert employer_report(mart_con, employer, whole_months=snap.whole_months()).months == ("2025-01", "2025-06")
    assert employer_report(mart_con, employer, whole_months=cut_short.whole_months()).months == ("2025-01", "2025-05")


def test_employer_without_commutes_in_the_period_is_empty_not_an_error(mart_con):
    employer = mart_con.execute("SELECT min(employer_id) FROM employers").fetchall()[0][0]
    assert employer_report(mart_con, employer, period="2024-01:2024-02").empty


@pytest.mark.parametrize(
    ("employer", "period", "match"),
    [
        ("E9999", "", "unknown employer"),
        ("E0001", "2025-1:2025-3", "period must look like"),
        ("E0001", "2025-06:2025-01", "ends before it starts"),
    ],
)
def test_bad_report_parameters(mart_con, employer, period, match):
    with pytest.raises(ValueError, match=match):
        employer_report(mart_con, employer, period=period)


def _report_of(cards: dict[str, list[tuple[str, int, int]]]) -> EmployerReport:
    """An employer report from hand-made commute_pkm rows: card -> [(mode, legs, metres)]."""
    month = dt.date(2025, 1, 1)
    pkm = pl.DataFrame(
        [("E1", card, month, mode, legs, m) for card, rows in cards.items() for mode, legs, m in rows],
        schema=["employer_id", "card_id", "month", "mode", "legs", "passenger_m"],
        orient="row",
    )
    days = pl.DataFrame(
        [("E1", card, month, 5, 10) for card in cards],
        schema=["employer_id", "card_id", "month", "commuting_days", "commute_trips"],
        orient="row",
    )
    factors = emissions.load_factors()
    return EmployerReport({"employer_id": "E1"}, ("2025-01", "2025-01"), days, pkm, factors, emissions.default_mix())


def test_a_mode_one_employee_rides_is_pooled_so_their_commute_never_shows():
    """Twelve ride the MRT; one rides a bike as well: the bike row would be that person's km."""
    cards = {f"K{i}": [("mrt", 10, 100_000)] for i in range(12)}
    cards["K0"] = [("mrt", 10, 100_000), ("bike", 4, 8_000)]
    modes = _report_of(cards).by_mode()
    # bike (1 employee) is pooled with the least used other mode until 10 are in the pool:
    # here that is the MRT itself, so only the pool shows, with every leg and km.
    assert modes["mode"].to_list() == ["other modes"]
    assert modes["legs"].to_list() == [124] and modes["pkm"].to_list() == pytest.approx([1208.0])


def test_modes_used_by_ten_or_more_show_and_small_ones_pool():
    cards = {f"K{i}": [("mrt", 10, 100_000)] for i in range(12)}
    cards |= {f"B{i}": [("bus", 10, 50_000)] for i in range(11)}
    cards |= {"L0": [("lrt", 10, 70_000)], "T0": [("tra", 2, 90_000)]}
    rows = {r["mode"]: r for r in _report_of(cards).by_mode().iter_rows(named=True)}
    # lrt and tra (1 employee each) pool, with the bus (the least used of the rest) to reach 10.
    assert set(rows) == {"mrt", "other modes"}
    assert rows["other modes"]["legs"] == 110 + 10 + 2 and rows["mrt"]["legs"] == 120


def test_an_employer_with_fewer_than_ten_commuters_gets_no_figures():
    assert not _report_of({f"K{i}": [("mrt", 10, 100_000)] for i in range(9)}).enough_employees
    assert _report_of({f"K{i}": [("mrt", 10, 100_000)] for i in range(10)}).enough_employees


def test_a_small_month_is_left_empty_with_another():
    month = [dt.date(2025, m, 1) for m in (1, 2, 3)]
    cards = [f"K{i}" for i in range(15)]
    rows = [(c, month[0]) for c in cards] + [(c, month[1]) for c in cards] + [(c, month[2]) for c in cards[:4]]
    days = pl.DataFrame(
        [("E1", c, m, 5, 10) for c, m in rows],
        schema=["employer_id", "card_id", "month", "commuting_days", "commute_trips"],
        orient="row",
    )
    pkm = pl.DataFrame(
        [("E1", c, m, "mrt", 10, 100_000) for c, m in rows],
        schema=["employer_id", "card_id", "month", "mode", "legs", "passenger_m"],
        orient="row",
    )
    report = EmployerReport(
        {"employer_id": "E1"}, ("2025-01", "2025-03"), days, pkm, emissions.load_factors(), emissions.default_mix()
    )
    table = report.monthly()
    # March (4 employees) is blank, and so is the smallest other month (a tie: the first), so
    # March cannot be worked out from the headline.
    assert table["suppressed"].to_list() == [True, False, True]
    assert (
        table.filter("suppressed")["pkm"].null_count() == 2
        and table.filter("suppressed")["employees"].null_count() == 2
    )
