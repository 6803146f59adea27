"""What the page makes of released figures: a coarser week grid where hour cells are too small,
and "what stands out" only for differences from the peers large enough to matter."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines import privacy
from pipelines.merchant_profile.profile import PARTS_OF_DAY, SHARE_MARGIN_MAX_POINTS, Profile
from pipelines.privacy.accounting import load_privacy
from pipelines.privacy.release import Release

UNIT = {"level": "outlet", "unit_id": "S0000001", "unit_name": "x", "category": "fuel", "district_id": "D01"}


def _profile(cells: list[tuple[str, str, int]], peers: list[tuple[str, str, int]] | None = None) -> Profile:
    frame = pl.DataFrame(cells, schema=["dimension", "value", "customers"], orient="row")
    p = Profile(UNIT, "2025-06", {"customers": 200, "transactions": 400, "revenue_ntd": 40000}, frame, "city")
    if peers is not None:
        p.peer_units = [f"S000000{i}" for i in range(2, 8)]
        p.peer_totals = pl.DataFrame({"unit_id": p.peer_units, "customers": [100] * 6})
        p.peer_cells = pl.DataFrame(peers, schema=["dimension", "value", "customers"], orient="row")
    return p


def test_hour_grid_when_the_shown_hours_hold_most_customers():
    cells = [("hour_of_week", f"{d}-{h:02d}", 40) for d in (1, 2) for h in (8, 12)]
    grain, grid = _profile([*cells, ("hour_of_week", "3-03", 2)]).week_grid()
    assert grain == "hour"
    assert grid.drop_nulls("share_pct").height == 4


def test_part_of_day_grid_where_hour_cells_are_suppressed():
    # Every hour cell under K_MIN: at the hour grain nothing could be shown.
    cells = [("hour_of_week", f"5-{h:02d}", privacy.K_MIN - 1) for h in range(6, 11)]
    cells += [("hour_of_week", f"5-{h:02d}", privacy.K_MIN - 1) for h in range(17, 21)]
    grain, grid = _profile(cells).week_grid()
    assert grain == "part_of_day"
    shown = grid.drop_nulls("share_pct")
    assert set(shown["slot"]) == {"morning", "evening"}
    assert set(grid["slot"]) <= {p for p, _ in PARTS_OF_DAY}
    assert shown["customers"].sum() == 9 * (privacy.K_MIN - 1)


def test_only_differences_that_matter_stand_out():
    own = [("gender", "F", 120), ("gender", "M", 80), ("age_band", "20-29", 100), ("age_band", "30-39", 100)]
    # Peers: women 45 % (15 points fewer than here), age bands within 2 points.
    peers = [("gender", "F", 270), ("gender", "M", 330), ("age_band", "20-29", 306), ("age_band", "30-39", 294)]
    found = _profile(own, peers).stand_outs(min_points=10)
    assert [(f["dimension"], f["value"]) for f in found] == [("gender", "F"), ("gender", "M")]
    assert round(found[0]["gap"]) == 15
    assert _profile(own, peers).stand_outs(min_points=20) == []


def test_nothing_stands_out_without_peers():
    assert _profile([("gender", "F", 120), ("gender", "M", 80)]).stand_outs() == []


def test_equal_differences_stand_out_in_the_same_order_every_run():
    own = [("gender", "F", 100), ("gender", "M", 100)]
    peers = [("gender", "F", 420), ("gender", "M", 180)]  # 70 % / 30 %: both 20 points off
    found = _profile(own, peers).stand_outs()
    assert [f["value"] for f in found] == ["F", "M"]


@pytest.mark.parametrize("customers", [40, 300])
def test_a_small_shops_own_shares_week_and_gaps_are_shown_only_within_the_widest_margin(customers):
    """With the shipped noise, 40 customers give shares off by up to ±49 points (two answers of
    one question could add up to 160 %): none of them, nor the week, nor a gap to the peers is
    shown. 300 customers give ±6.5 points: all are."""
    p = _profile(
        [("gender", "F", customers // 2), ("gender", "M", customers // 2), ("hour_of_week", "1-08", customers)],
        peers=[("gender", "F", 500), ("gender", "M", 100)],
    )
    p.totals = {"customers": customers, "transactions": 4 * customers, "revenue_ntd": 400 * customers}
    p.release = Release("r", load_privacy(), b"k")
    margin = 100 * 1.96 * load_privacy().sigma_of("customers") / customers
    shown = margin <= SHARE_MARGIN_MAX_POINTS
    assert shown == (customers == 300), margin
    assert p.shares_readable == shown
    assert p.table("gender").height == (2 if shown else 0)
    assert p.week_grid()[1].drop_nulls("share_pct").height == (1 if shown else 0)
    assert [f["value"] for f in p.stand_outs()] == (["F", "M"] if shown else [])
    # The peers' shares stay: they are sums over several shops, none of them the reader's.
    assert p.compared("gender")["peer_share_pct"].to_list() == [83.3, 16.7]


@pytest.mark.parametrize(("customers", "note_margin"), [(30, None), (60, "32.7"), (300, "7")])
def test_the_page_shows_the_peers_alone_and_no_margin_that_gives_away_hidden_customers(customers, note_margin):
    """Hidden own shares leave no empty column (an empty cell reads as fewer than 10); where the
    customers are too uncertain to show, the note gives no margin (1,960 over the customers)."""
    import duckdb

    from pipelines.merchant_profile import page as merchant_page

    p = _profile([("gender", "F", customers // 2), ("gender", "M", customers // 2)], peers=[("gender", "F", 500)])
    p.peer_cells = pl.DataFrame([("gender", "F", 500), ("gender", "M", 100)], schema=p.peer_cells.schema, orient="row")
    p.totals = {"customers": customers, "transactions": 4 * customers, "revenue_ntd": 400 * customers}
    p.release = Release("r", load_privacy(), b"k")
    con = duckdb.connect()
    con.execute("CREATE TABLE districts AS SELECT 'Daan' AS name_en, '大安' AS name_zh")
    page = merchant_page.Page(con, p, merchant_page.words("en"))
    note, table = page.share_note().markdown, page.compared("gender")
    own = customers == 300
    assert ("your customers, %" in table.frame.columns) == own
    assert table.frame["similar shops, %"].to_list() == [83.3, 16.7]
    assert table.caption.endswith("similar shops only") != own
    if note_margin is None:
        assert "more than ± 50 points" in note and str(round(1960 / customers, 1)) not in note
    else:
        assert f"± {note_margin} points" in note
