"""RFM, segments, migration, subsidies and audiences, against figures worked out by hand."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil

import duckdb
import polars as pl
import pytest

from pipelines.core import catalog
from pipelines.core.config import ConfigError
from pipelines.core.snapshot import Snapshot
from pipelines.segments.analysis import open_segmentation
from pipelines.segments.audience import Audience
from pipelines.segments.config import CONFIG_DIR, load_config, register_config
from pipelines.segments.marts import SQL, member_scene_months
from pipelines.segments.subsidy import subsidy_plan

D = dt.date
T = dt.datetime


def _mask(*days: int) -> int:
    return sum(1 << (d - 1) for d in days)


# member, month, scene, events, NT$, days of the month with an event, last event: five members
# over January-March 2025. D spends only by P2P, which is not spend: D must not appear.
TINY = [
    ("A", D(2025, 1, 1), "transit", 3, 60, (5, 12, 20), T(2025, 1, 20, 8)),
    ("A", D(2025, 3, 1), "retail", 2, 300, (30, 31), T(2025, 3, 31, 18)),
    ("B", D(2025, 1, 1), "retail", 10, 1000, (2, 9, 16, 23, 31), T(2025, 1, 31, 12)),
    ("C", D(2025, 2, 1), "transit", 5, 100, (3, 10, 17, 24, 27), T(2025, 2, 27, 8)),
    ("C", D(2025, 3, 1), "transit", 5, 100, (3, 10, 17, 24, 29), T(2025, 3, 29, 8)),
    ("D", D(2025, 3, 1), "p2p", 4, 400, (30,), T(2025, 3, 30, 9)),
    ("E", D(2025, 3, 1), "retail", 1, 50, (1,), T(2025, 3, 1, 10)),
    ("F", D(2025, 2, 1), "transit", 5, 100, (3, 10, 17, 24, 27), T(2025, 2, 27, 8)),  # F is C's twin: ties
    ("F", D(2025, 3, 1), "transit", 5, 100, (3, 10, 17, 24, 29), T(2025, 3, 29, 8)),
]


def _member_month(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        [(m, month, scene, n, ntd, _mask(*days), last) for m, month, scene, n, ntd, days, last in rows],
        schema=["member_id", "month", "scene", "events", "amount_ntd", "days_mask", "last_at"],
        orient="row",
    )


def _tiny(rows: list[tuple], **config: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("member_month", _member_month(rows).to_arrow())
    register_config(con, load_config(window_months=2))
    params = _tiny_params("2025-01-01") | config
    con.register("rfm", con.sql(SQL.load("mart_rfm"), params=params).to_arrow_table())
    return con


@pytest.fixture(scope="module")
def tiny_rfm() -> duckdb.DuckDBPyConnection:
    return _tiny(TINY)


def _tiny_params(period_start: str) -> dict:
    return {
        "spend_scenes": ["transit", "retail", "bills"],
        "window_months": 2,
        "frequency": "events",
        "recency": "quantiles",
        "lapsed_segment": "Lapsed",
        "period_start": period_start,
        "period_end": "2025-03-31",
        "r5_days": 2,
        "r4_days": 7,
        "r3_days": 14,
        "r2_days": 30,
        "f5_min": 10,
        "f4_min": 5,
        "f3_min": 3,
        "f2_min": 2,
    }


def test_rfm_of_a_period_that_starts_mid_month_is_scored_at_its_month_ends(tiny_rfm):
    """An imported extract may start on any day: month ends are still calendar month ends."""
    mid = tiny_rfm.sql(SQL.load("mart_rfm"), params=_tiny_params("2025-01-15")).fetchall()
    assert sorted(mid) == sorted(tiny_rfm.execute("SELECT * FROM rfm").fetchall())


def test_rfm_of_a_period_that_ends_mid_month_skips_the_cut_short_month(tiny_rfm):
    """Recency to 31 March when the data stops on the 20th would make everyone look less recent."""
    cut = tiny_rfm.sql(
        SQL.load("mart_rfm"), params=_tiny_params("2025-01-01") | {"period_end": "2025-03-20"}
    ).fetchall()
    full = tiny_rfm.execute("SELECT * FROM rfm WHERE month_end < DATE '2025-03-01'").fetchall()
    assert sorted(cut) == sorted(full) and full


def _rows(con, month_end: str) -> dict[str, tuple]:
    q = (
        "SELECT member_id, recency_days, frequency, monetary_ntd, r_score, f_score, m_score, segment "
        "FROM rfm WHERE month_end = ?"
    )
    return {r[0]: r[1:] for r in con.execute(q, [month_end]).fetchall()}


def test_rfm_at_the_last_month_end_by_hand(tiny_rfm):
    # Window February-March. Scored: A, C, E, F (active in the window); B spent only in January:
    # Lapsed, no scores. Score = 1 + floor(5 (worse + tied / 2) / 4).
    # F: E 1 (0 worse) -> 1; A 2 (1 worse) -> 1 + floor(1.875) = 2; C, F 10 (2 worse, 2 tied) -> 4.
    # M: E 50 -> 1; C, F 200 (1 worse, 2 tied) -> 3; A 300 (3 worse) -> 5.
    # R, by the last spend's time: E 1 March -> 1; C, F 29 March 08:00 (tied) -> 3; A 31 March -> 5.
    assert _rows(tiny_rfm, "2025-03-31") == {
        "A": (0, 2, 300, 5, 2, 5, "Potential Loyalists"),
        "B": (59, 0, 0, None, None, None, "Lapsed"),  # 31 Jan -> 31 Mar is 59 days
        "C": (2, 10, 200, 3, 4, 3, "Loyal"),
        "E": (30, 1, 50, 1, 1, 1, "Hibernating"),
        "F": (2, 10, 200, 3, 4, 3, "Loyal"),
    }


def test_fixed_segments_by_hand_depend_on_the_member_alone():
    """What merchant profiles publish: R by days (2, 7, 14, 30), F by minimum events (10, 5, 3,
    2), so that one member more or less moves nobody else's segment, unlike the quantiles."""

    def fixed(con) -> dict[str, str]:
        rows = con.execute("SELECT member_id, fixed_segment, segment FROM rfm WHERE month_end = '2025-03-31'")
        return {m: (f, s) for m, f, s in rows.fetchall()}

    everyone = fixed(_tiny(TINY))
    # A: 0 days, 2 events -> R5 F2; C and F: 2 days, 10 events -> R5 F5; E: 30 days, 1 -> R2 F1.
    assert {m: f for m, (f, _) in everyone.items()} == {
        "A": "Potential Loyalists",
        "B": "Lapsed",
        "C": "Champions",
        "E": "Hibernating",
        "F": "Champions",
    }
    without_e = fixed(_tiny([r for r in TINY if r[0] != "E"]))
    assert all(without_e[m][0] == everyone[m][0] for m in without_e)
    # The quantile segments of the others move when E leaves (A was ranked above E).
    assert any(without_e[m][1] != everyone[m][1] for m in without_e)


def test_rfm_at_earlier_month_ends_by_hand(tiny_rfm):
    # 31 January: A (3 events, NT$60, 20 Jan) and B (10, NT$1000, 31 Jan): scores 2 and 4;
    # R2-F2 is About to Sleep in the map.
    assert _rows(tiny_rfm, "2025-01-31") == {
        "A": (11, 3, 60, 2, 2, 2, "About to Sleep"),
        "B": (0, 10, 1000, 4, 4, 4, "Loyal"),
    }
    # 28 February, window January-February: F 3 < 5 = 5 < 10; R 20 Jan < 31 Jan < 27 Feb (tied).
    assert _rows(tiny_rfm, "2025-02-28") == {
        "A": (39, 3, 60, 1, 1, 1, "Hibernating"),
        "B": (28, 10, 1000, 2, 5, 5, "Can't Lose Them"),
        "C": (1, 5, 100, 4, 3, 3, "Potential Loyalists"),
        "F": (1, 5, 100, 4, 3, 3, "Potential Loyalists"),
    }


def test_recency_by_thresholds_when_configured():
    # As the last month end by hand, but R from days since the last spend: A 0 and C, F 2 -> 5; E 30 -> 2.
    con = _tiny(TINY, recency="thresholds")
    assert {m: r[3:] for m, r in _rows(con, "2025-03-31").items()} == {
        "A": (5, 2, 5, "Potential Loyalists"),
        "B": (None, None, None, "Lapsed"),
        "C": (5, 4, 3, "Champions"),
        "E": (2, 1, 1, "Hibernating"),
        "F": (5, 4, 3, "Champions"),
    }


def test_frequency_as_distinct_days_counts_a_day_once_across_scenes():
    # X: 4 trips on 1-2 March and 3 purchases on 2-3 March: 7 events on 3 days. Y: 2 purchases, 2 days.
    rows = [
        ("X", D(2025, 3, 1), "transit", 4, 80, (1, 2), T(2025, 3, 2, 18)),
        ("X", D(2025, 3, 1), "retail", 3, 90, (2, 3), T(2025, 3, 3, 12)),
        ("Y", D(2025, 3, 1), "retail", 2, 500, (5, 9), T(2025, 3, 9, 12)),
    ]
    events = {m: r[1] for m, r in _rows(_tiny(rows), "2025-03-31").items()}
    days = {m: r[1] for m, r in _rows(_tiny(rows, frequency="days"), "2025-03-31").items()}
    assert (events, days) == ({"X": 7, "Y": 2}, {"X": 3, "Y": 2})


def test_quantile_scores_spread_evenly_without_ties_and_keep_ties_together():
    """Scores against a second, simple method: sort, then the quintile of each member's
    middle position; 100 distinct values give 20 a score, a tie of 60 lands in one score."""
    rows = [
        (f"M{i:03d}", D(2025, 3, 1), "retail", i + 1, 10 * (i + 1), (1,), T(2025, 3, 1) + dt.timedelta(minutes=i))
        for i in range(100)
    ]
    scores = _rows(_tiny(rows), "2025-03-31")
    for column in (3, 4, 5):  # r, f, m
        counts = pl.Series([s[column] for s in scores.values()]).value_counts().sort("")
        assert counts["count"].to_list() == [20] * 5
    tied = [(m, month, scene, 1 if n <= 60 else n, ntd, days, last) for m, month, scene, n, ntd, days, last in rows]
    f = pl.Series([s[4] for s in _rows(_tiny(tied), "2025-03-31").values()])
    # 60 tied at one event: their middle is the 30th of 100 -> score 1 + floor(5 x 0.3) = 2; the
    # other 40 sit at positions 61-100: 1 + floor(5 x 60.5 / 100) = 4 up to the 80th, then 5.
    assert f.value_counts().sort("").rows() == [(2, 60), (4, 20), (5, 20)]


def test_migration_by_hand(tiny_rfm):
    tiny_rfm.register("m", tiny_rfm.sql(SQL.load("mart_migration")).to_arrow_table())
    rows = tiny_rfm.execute("SELECT * FROM m WHERE month_end = DATE '2025-03-31' ORDER BY ALL").fetchall()
    assert [r[1:] for r in rows] == [
        ("Can't Lose Them", "Lapsed", 1),  # B
        ("Hibernating", "Potential Loyalists", 1),  # A
        ("Potential Loyalists", "Loyal", 2),  # C and F; E was not there in February
    ]


def test_subsidy_plan_scales_down_to_the_budget():
    members = pl.DataFrame({"segment": ["x", "y", "z"], "members": [10, 20, 5]})
    policy = pl.DataFrame(
        {
            "segment": ["x", "y", "z"],
            "subsidise": ["yes", "yes", "no"],
            "per_head_ntd": [100, 50, 0],
            "why": ["", "", ""],
        }
    )
    plan, s = subsidy_plan(members, policy, 5000)  # wants 10*100 + 20*50 = 2000: fits
    assert plan["per_head_ntd_planned"].to_list() == [100, 50, 0] and s["total_cost_ntd"] == 2000
    assert s["unused_ntd"] == 3000
    plan, s = subsidy_plan(members, policy, 1000)  # half: 50 and 25 a head
    assert plan["per_head_ntd_planned"].to_list() == [50, 25, 0] and s["total_cost_ntd"] == 1000
    plan, s = subsidy_plan(members, policy, 999)  # factor 0.4995: 49.95 -> 49, 24.975 -> 24
    assert plan["per_head_ntd_planned"].to_list() == [49, 24, 0] and s["total_cost_ntd"] == 970
    with pytest.raises(ValueError, match="negative"):
        subsidy_plan(members, policy, -1)


def test_subsidy_plan_follows_measured_returns_and_falls_back_to_the_policy():
    members = pl.DataFrame({"segment": ["x", "y", "z", "w"], "members": [10, 20, 5, 8]})
    policy = pl.DataFrame(
        {
            "segment": ["x", "y", "z", "w"],
            "subsidise": ["no", "yes", "yes", "yes"],
            "per_head_ntd": [0, 50, 40, 70],
            "why": ["policy x", "policy y", "policy z", "policy w"],
        }
    )
    returns = pl.DataFrame(
        {
            "segment": ["x", "y", "w"],
            "campaigns": [2, 1, 1],
            "treated": [100, 50, 10],  # w: too few treated members to go by
            "cost_ntd": [3000, 1000, 300],
            "incremental_ntd": [6000.0, 500.0, 3000.0],
            "incremental_var": [1e6, 1e4, 1.0],
        }
    )
    plan, s = subsidy_plan(members, policy, 10_000, returns)
    rows = {r["segment"]: r for r in plan.iter_rows(named=True)}
    # x: 6,000 extra NT$ for 3,000 NT$ of subsidy = 2.00 per NT$ (+/- 1.96 * 1,000 / 3,000);
    # subsidised at what it cost per treated member, NT$30, though the policy said no.
    assert rows["x"]["return_per_ntd"] == 2.0 and rows["x"]["subsidise"] == "yes"
    assert (rows["x"]["return_lower"], rows["x"]["return_upper"]) == (1.35, 2.65)
    assert rows["x"]["per_head_ntd"] == 30 and rows["x"]["basis"] == "measured in 2 subsidy campaign(s)"
    # y: 0.50 per NT$, below 1: not subsidised, though the policy said yes.
    assert rows["y"]["subsidise"] == "no" and rows["y"]["per_head_ntd"] == 0
    # z and w: the policy table, and the plan says so.
    assert rows["z"]["basis"] == rows["w"]["basis"] == "policy table"
    assert rows["w"]["per_head_ntd"] == 70 and rows["w"]["why"] == "policy w"
    # Measured segments first, best return first.
    assert plan["segment"].to_list()[:2] == ["x", "y"]
    assert s["total_cost_ntd"] == 10 * 30 + 5 * 40 + 8 * 70 and s["segments_measured"] == 2


def test_segment_map_must_cover_every_cell_once(tmp_path):
    folder = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, folder)
    lines = (folder / "rf_segments.csv").read_text().splitlines()
    (folder / "rf_segments.csv").write_text("\n".join([*lines[:-1], "5,4,Loyal"]) + "\n")
    with pytest.raises(ConfigError, match=r"missing \[\(5, 5\)\], given twice \[\(5, 4\)\]"):
        load_config(folder / "rfm.toml")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"gender": "X"}, "gender"), ({"age_min": 50, "age_max": 30}, "age range"), ({"scene": "cinema"}, "scene")],
)
def test_audience_criteria_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Audience(**kwargs)


@pytest.fixture(scope="module")
def segmentation(mart_con, snap):
    return open_segmentation(mart_con, snap)


def test_planted_dormant_members_land_on_the_at_risk_side(segmentation, truth):
    dormant = truth["members"].filter(pl.col("dormant_from").is_not_null())
    segmentation.con.register("dormant", dormant.to_arrow())
    sides = dict(
        segmentation.con.execute(
            """SELECT i.side, count(*) FROM rfm r JOIN dormant d USING (member_id) JOIN segment_info i USING (segment)
           WHERE r.month_end = ? GROUP BY 1""",
            [segmentation.as_of],
        ).fetchall()
    )
    assert sides.get("at_risk", 0) / dormant.height >= 0.95


def test_no_named_segment_holds_more_than_a_quarter_of_the_scored_members(segmentation):
    scored = catalog.frame(
        segmentation.con,
        "SELECT segment, r_score, f_score FROM rfm WHERE month_end = ? AND r_score IS NOT NULL",
        [segmentation.as_of],
    )
    shares = scored["segment"].value_counts(normalize=True)
    assert shares["proportion"].max() <= 0.25, shares.sort("proportion", descending=True).head(3)
    for column in ("r_score", "f_score"):
        fifths = scored[column].value_counts(normalize=True)["proportion"]
        assert fifths.len() == 5 and fifths.is_between(0.15, 0.25).all(), (column, fifths.to_list())


def test_migration_rows_sum_to_members_present_in_both_months(segmentation):
    rfm = catalog.frame(segmentation.con, "SELECT member_id, month_end FROM rfm")
    migration = catalog.frame(segmentation.con, "SELECT month_end, members FROM migration")
    ends = sorted(rfm["month_end"].unique())
    for prev, cur in itertools.pairwise(ends):
        both = len(
            set(rfm.filter(pl.col("month_end") == prev)["member_id"])
            & set(rfm.filter(pl.col("month_end") == cur)["member_id"])
        )
        assert migration.filter(pl.col("month_end") == cur)["members"].sum() == both


def test_member_month_mart_matches_an_independent_count(segmentation):
    mm = catalog.frame(
        segmentation.con, "SELECT scene, sum(events) AS n, sum(amount_ntd) AS ntd FROM member_month GROUP BY 1"
    )
    got = {r["scene"]: (r["n"], r["ntd"]) for r in mm.to_dicts()}
    cards = catalog.frame(segmentation.con, "SELECT card_id, member_id FROM cards WHERE member_id IS NOT NULL")
    trips = catalog.frame(segmentation.con, "SELECT card_id, fare FROM trips").join(cards, on="card_id")
    bills = catalog.frame(segmentation.con, "SELECT amount FROM bill_payments")
    purchases = catalog.frame(segmentation.con, "SELECT amount FROM purchases")
    assert got["transit"] == (trips.height, trips["fare"].sum())
    assert got["bills"] == (bills.height, bills["amount"].sum())
    assert got["retail"] == (purchases.height, purchases["amount"].sum())
    assert got["all"][0] == sum(v[0] for k, v in got.items() if k != "all")


def test_member_month_active_days_and_last_day_match_polars_calendar(segmentation):
    """Per scene and over all scenes, against Polars' own calendar (dates, months, n_unique)."""
    events = catalog.frame(segmentation.con, "SELECT member_id, scene, event_at FROM member_events").with_columns(
        pl.col("event_at").dt.date().alias("day"), pl.col("event_at").dt.truncate("1mo").dt.date().alias("month")
    )
    aggs = [
        pl.len().cast(pl.Int64).alias("events"),
        pl.col("day").n_unique().cast(pl.Int32).alias("active_days"),
        pl.col("day").max().alias("last_day"),
    ]
    expected = pl.concat(
        [
            events.group_by("member_id", "month", "scene").agg(aggs),
            events.group_by("member_id", "month").agg(aggs).with_columns(pl.lit("all").alias("scene")),
        ],
        how="diagonal",
    )
    got = catalog.frame(
        segmentation.con, "SELECT member_id, month, scene, events, active_days, last_day FROM member_month"
    )
    keys = ["member_id", "month", "scene"]
    assert got.height == expected.height
    assert got.sort(keys).equals(expected.select(got.columns).sort(keys))


def test_member_month_on_hand_made_events():
    """Month edges (first microsecond, last microsecond, 29 February), two events on one day,
    and two scenes on one day, worked out by hand."""
    ts = dt.datetime
    events = pl.DataFrame(
        [
            ("A", "transit", ts(2024, 1, 1, 0, 0, 0), 20),
            ("A", "transit", ts(2024, 1, 1, 8, 0, 0), 30),
            ("A", "retail", ts(2024, 1, 1, 12, 0, 0), 100),
            ("A", "retail", ts(2024, 1, 31, 23, 59, 59, 999999), 50),
            ("A", "p2p", ts(2024, 2, 29, 10, 0, 0), 500),
            ("B", "bills", ts(2024, 2, 1, 0, 0, 0), 700),
            ("B", "bills", ts(2024, 2, 15, 9, 0, 0), 800),
        ],
        schema=["member_id", "scene", "event_at", "amount_ntd"],
        orient="row",
    )
    con = duckdb.connect()
    con.register("member_events", events.to_arrow())
    leap = Snapshot("leap", {"period": {"start": "2024-01-01", "end": "2024-02-29"}, "synthetic": True}, "")
    con.execute(f"CREATE VIEW member_scene_months AS {member_scene_months(leap)}")
    got = catalog.frame(con, SQL.load("mart_member_month") + " ORDER BY member_id, month, scene")
    jan, feb = D(2024, 1, 1), D(2024, 2, 1)
    last_jan = ts(2024, 1, 31, 23, 59, 59, 999999)
    assert got.rows() == [
        ("A", jan, "all", 4, 200, 2, D(2024, 1, 31), last_jan, _mask(1, 31)),
        ("A", jan, "retail", 2, 150, 2, D(2024, 1, 31), last_jan, _mask(1, 31)),
        ("A", jan, "transit", 2, 50, 1, D(2024, 1, 1), ts(2024, 1, 1, 8), _mask(1)),
        ("A", feb, "all", 1, 500, 1, D(2024, 2, 29), ts(2024, 2, 29, 10), _mask(29)),
        ("A", feb, "p2p", 1, 500, 1, D(2024, 2, 29), ts(2024, 2, 29, 10), _mask(29)),
        ("B", feb, "all", 2, 1500, 2, D(2024, 2, 15), ts(2024, 2, 15, 9), _mask(1, 15)),
        ("B", feb, "bills", 2, 1500, 2, D(2024, 2, 15), ts(2024, 2, 15, 9), _mask(1, 15)),
    ]


def test_audience_counts_match_a_polars_filter(segmentation):
    criteria = Audience.from_text(gender="F", ages="30-45", min_monthly_spend_ntd=3000)
    by_segment = segmentation.audience_by_segment(criteria)
    rfm = catalog.frame(
        segmentation.con, "SELECT member_id, monetary_ntd, segment FROM rfm WHERE month_end = ?", [segmentation.as_of]
    )
    members = catalog.frame(segmentation.con, "SELECT member_id, gender, birth_year FROM members")
    expected = rfm.join(members, on="member_id").filter(
        (pl.col("gender") == "F")
        & (2025 - pl.col("birth_year")).is_between(30, 45)
        & (pl.col("monetary_ntd") / 3 >= 3000)
    )
    assert by_segment["members"].sum() == expected.height > 0
    exact = dict(by_segment.iter_rows())
    assert set(exact) == set(segmentation.config.segments["segment"])  # every segment, empty or not
    for seg, n in expected.group_by("segment").len().iter_rows():
        assert exact[seg] == n


def test_audience_described_in_plain_words():
    assert Audience().describe() == "members"
    criteria = Audience.from_text("F", "30-45", 3000, "D09,D13", "Champions", "retail")
    assert criteria.describe() == (
        "women aged 30-45, spending at least NT$3,000 a month, living in D09, D13, in segment Champions, "
        "active in retail over the window"
    )
    assert Audience.from_text(gender="M", ages="0-120").describe() == "men"


def test_month_starts_and_ends_of_a_period_that_starts_mid_month_and_crosses_a_year():
    from pipelines.core.period import month_ends_between, month_starts

    starts = [D(2024, 11, 1), D(2024, 12, 1), D(2025, 1, 1), D(2025, 2, 1)]
    assert month_starts(D(2024, 11, 15), D(2025, 2, 3)) == starts
    assert month_starts(D(2025, 3, 31), D(2025, 3, 31)) == [D(2025, 3, 1)]
    # Month ends inside the period only: 3 February cuts February short.
    assert month_ends_between(D(2024, 11, 15), D(2025, 2, 3)) == [D(2024, 11, 30), D(2024, 12, 31), D(2025, 1, 31)]
    assert month_ends_between(D(2024, 2, 1), D(2024, 2, 29)) == [D(2024, 2, 29)]
    assert month_ends_between(D(2025, 1, 5), D(2025, 1, 20)) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"segments": "Champions,Champs"}, "unknown segments Champs; known: About to Sleep, At Risk"),
        ({"districts": "D99"}, r"unknown districts D99; known: D01 \w+, D02"),
    ],
)
def test_audience_with_unknown_names_is_refused(segmentation, kwargs, message):
    with pytest.raises(ValueError, match=message):
        segmentation.audience_by_segment(Audience.from_text(**kwargs))


def test_another_window_recomputes_rfm_from_member_month(segmentation, snap):
    """A window other than the marts' is scored on the fly; F and M must then cover 6 months."""
    from pipelines import marts

    six = open_segmentation(marts.connect(snap), snap, window_months=6)
    got = catalog.frame(six.con, "SELECT member_id, frequency, monetary_ntd FROM rfm WHERE month_end = ?", [six.as_of])
    spend = catalog.frame(
        six.con,
        "SELECT member_id, sum(events) AS frequency, sum(amount_ntd) AS monetary_ntd FROM member_month "
        "WHERE scene IN ('transit', 'retail', 'bills') GROUP BY member_id",
    )
    assert six.as_of == D(2025, 6, 30)  # the six months of the test snapshot are the whole window
    keys = ["member_id"]
    assert got.sort(keys).equals(spend.select(got.columns).sort(keys).cast(got.schema))
    three = catalog.frame(segmentation.con, "SELECT sum(frequency) AS n FROM rfm WHERE month_end = ?", [six.as_of])
    assert three["n"][0] < got["frequency"].sum()


def test_an_unknown_key_in_rfm_toml_is_named(tmp_path):
    folder = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, folder)
    text = (folder / "rfm.toml").read_text()
    (folder / "rfm.toml").write_text(text.replace("window_months = 3", "window_month = 3"))
    with pytest.raises(ConfigError, match=r"rfm.toml: unknown key\(s\) window_month"):
        load_config(folder / "rfm.toml")


def test_flows_that_matter_are_the_largest_moves_across_the_at_risk_line(segmentation):
    """Checked against the migration matrix, read cell by cell."""
    sides = dict(zip(segmentation.config.segments["segment"], segmentation.config.segments["side"], strict=True))
    matrix = segmentation.migration_matrix()
    cells = [
        (row["from_segment"], to, row[to])
        for row in matrix.iter_rows(named=True)
        for to in matrix.columns[1:]
        if row[to] and to != row["from_segment"]
    ]
    lost = [n for a, b, n in cells if sides[b] == "at_risk" and sides[a] != "at_risk"]
    won = [n for a, b, n in cells if sides[a] == "at_risk" and sides[b] != "at_risk"]
    every = segmentation.flows_that_matter(top=None)
    assert every.filter(pl.col("direction") == "lost")["members"].sum() == sum(lost)
    assert every.filter(pl.col("direction") == "won")["members"].sum() == sum(won)
    top = segmentation.flows_that_matter()
    assert top.filter(pl.col("direction") == "lost")["members"].to_list() == sorted(lost, reverse=True)[:3]
    assert top.filter(pl.col("direction") == "won")["members"].to_list() == sorted(won, reverse=True)[:3]


def test_every_configured_segment_has_its_words():
    from pipelines.reporting.words import LANGS
    from pipelines.segments import page
    from pipelines.segments.config import load_config

    config = load_config()
    for lang in LANGS:
        w = page.words(lang)
        for segment in config.segments["segment"]:
            assert w.label("segment", segment) and w.label("segment_meaning", segment)
            assert w(f"segments.why.{segment}")
        for side in config.segments["side"].unique():
            assert w(f"segments.side.{side}")
