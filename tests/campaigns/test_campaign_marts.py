"""The campaign marts: a crafted campaign of a few members checked by hand, and the test
snapshot's planted campaigns recovered (the generator wrote what it planted)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import polars as pl
import pytest

from pipelines.campaigns import page
from pipelines.campaigns.marts import build
from pipelines.campaigns.report import campaign_report
from pipelines.core import catalog
from pipelines.core.family import MartWriter
from pipelines.core.schema import table

D = dt.date


def _frame(name: str, rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=table(name).polars_schema, orient="row")


@pytest.fixture()
def crafted(tmp_path) -> duckdb.DuckDBPyConnection:
    """Chain B0001 (outlets S1, S2; S3 is another shop) offers NT$20 from 10 to 16 June 2025 to
    four members: M1 and M2 treated, M3 and M4 held out. The pre-period is the 28 days before."""
    con = duckdb.connect()
    t = dt.datetime
    tables = {
        "campaigns": _frame(
            "campaigns",
            [
                (
                    "C00001",
                    "June offer",
                    "merchant_offer",
                    "chain",
                    "B0001",
                    "shoppers",
                    D(2025, 6, 10),
                    D(2025, 6, 16),
                    20,
                    0.5,
                    7,
                )
            ],
        ),
        "campaign_assignments": _frame(
            "campaign_assignments",
            [
                ("C00001", "M00000001", "treatment", t(2025, 6, 10, 8)),
                ("C00001", "M00000002", "treatment", t(2025, 6, 10, 8)),
                ("C00001", "M00000003", "holdout", None),
                ("C00001", "M00000004", "holdout", None),
            ],
        ),
        "members": pl.DataFrame(
            {"member_id": [f"M0000000{i}" for i in range(1, 5)], "account_id": [f"W0000000{i}" for i in range(1, 5)]}
        ),
        "cards": pl.DataFrame(
            {"card_id": [f"K00000000{i}" for i in range(1, 5)], "member_id": [f"M0000000{i}" for i in range(1, 5)]}
        ),
        "merchants": pl.DataFrame(
            {"merchant_id": ["S0000001", "S0000002", "S0000003"], "brand_id": ["B0001", "B0001", None]}
        ),
        "purchases": pl.DataFrame(
            [
                # M1: two purchases at the chain during (one by wallet), one before, one at S3 during.
                (1, t(2025, 6, 11, 9), "S0000001", 100, "K000000001", None),
                (2, t(2025, 6, 15, 18), "S0000002", 60, None, "W00000001"),
                (3, t(2025, 5, 20, 12), "S0000001", 40, "K000000001", None),
                (4, t(2025, 6, 12, 12), "S0000003", 500, "K000000001", None),
                # M2: nothing at the chain during; one purchase long before the pre-period.
                (5, t(2025, 4, 1, 12), "S0000001", 70, "K000000002", None),
                # M3 (holdout): one at the chain during, one before.
                (6, t(2025, 6, 16, 23), "S0000002", 30, "K000000003", None),
                (7, t(2025, 6, 1, 8), "S0000002", 50, "K000000003", None),
                # M4 (holdout): one at the chain the day after the campaign ended.
                (8, t(2025, 6, 17, 0), "S0000001", 80, "K000000004", None),
            ],
            schema=["purchase_id", "purchased_at", "merchant_id", "amount", "card_id", "account_id"],
            orient="row",
        ),
        "redemptions": _frame("redemptions", [("C00001", 1, 20), ("C00001", 2, 20)]),
        "rfm": pl.DataFrame(
            {
                "member_id": ["M00000001", "M00000002", "M00000003"],
                "month_end": [D(2025, 5, 31)] * 3,
                "segment": ["Loyal", "Hibernating", "Loyal"],
            }
        ),
    }
    for name, frame in tables.items():
        con.register(f"_{name}", frame.to_arrow())
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}")
    build(MartWriter(con, None, tmp_path, tmp_path / ".scratch"))  # type: ignore[arg-type]
    return con


def test_members_of_a_crafted_campaign_by_hand(crafted):
    members = catalog.frame(crafted, "SELECT * FROM campaign_members ORDER BY member_id")
    expected = pl.DataFrame(
        {
            "member_id": ["M00000001", "M00000002", "M00000003", "M00000004"],
            "arm": ["treatment", "treatment", "holdout", "holdout"],
            "segment": ["Loyal", "Hibernating", "Loyal", "not scored"],
            "pre_buyer": [1, 0, 1, 0],
            "pre_transactions": [1, 0, 1, 0],
            "pre_ntd": [40, 0, 50, 0],
            "buyer": [1, 0, 1, 0],
            "transactions": [2, 0, 1, 0],
            "ntd": [160, 0, 30, 0],
            "redemptions": [2, 0, 0, 0],
            "redeemed_ntd": [40, 0, 0, 0],
        }
    )
    assert members.select(expected.columns).equals(expected.cast(members.select(expected.columns).schema))


def test_arms_effects_and_results_of_a_crafted_campaign_by_hand(crafted):
    arms = {r["arm"]: r for r in catalog.frame(crafted, "SELECT * FROM campaign_arms").iter_rows(named=True)}
    assert (arms["treatment"]["members"], arms["treatment"]["buyers"], arms["treatment"]["ntd"]) == (2, 1, 160)
    assert (arms["holdout"]["members"], arms["holdout"]["buyers"], arms["holdout"]["ntd"]) == (2, 1, 30)
    effects = catalog.frame(crafted, "SELECT * FROM campaign_effects WHERE segment = 'all' AND metric = 'ntd'")
    # NT$ per member: treatment (160 + 0) / 2 = 80, holdout (30 + 0) / 2 = 15, before 20 and 25.
    row = effects.row(0, named=True)
    assert (row["treatment_mean"], row["holdout_mean"]) == (80, 15)
    result = catalog.frame(crafted, "SELECT * FROM campaign_results").row(0, named=True)
    assert (result["cost_ntd"], result["redemptions"]) == (40, 2)
    assert result["incremental_ntd"] == pytest.approx(row["effect"] * 2)
    assert result["ntd_per_cost"] == pytest.approx(row["effect"] * 2 / 40)
    # Two members a segment: Loyal has one member in each arm, too few for an interval.
    loyal = catalog.frame(crafted, "SELECT * FROM campaign_effects WHERE segment = 'Loyal' AND metric = 'ntd'")
    assert loyal["effect"].is_null().all() and loyal["treatment_mean"][0] == 160


def test_cuped_narrows_the_intervals_of_the_generated_campaigns_and_the_report_says_so(mart_con):
    narrowing = catalog.frame(mart_con, "SELECT cuped_narrowing FROM campaign_results")["cuped_narrowing"]
    assert narrowing.mean() > 0 and (narrowing > 0).mean() > 0.5
    first = catalog.frame(mart_con, "SELECT min(campaign_id) AS c FROM campaigns")["c"][0]
    reading = page.Page(mart_con, page.words("en"), report=campaign_report(mart_con, first)).answer().markdown
    assert "(`CUPED`) made" in reading


def test_the_report_warns_when_the_arms_were_not_drawn_as_declared(mart_con):
    first = catalog.frame(mart_con, "SELECT min(campaign_id) AS c FROM campaigns")["c"][0]
    report = campaign_report(mart_con, first)
    assert report.sample_ratio_ok and report.balanced

    def answer(r) -> str:
        return page.Page(mart_con, page.words("en"), report=r).answer().markdown

    assert "Warning" not in answer(report)
    skewed = dataclasses.replace(report, campaign={**report.campaign, "srm_pvalue": 1e-6})
    assert answer(skewed).startswith("**Warning: the groups are not the sizes the campaign declared**")
    chosen = dataclasses.replace(report, campaign={**report.campaign, "balance_pvalue": 1e-6})
    assert answer(chosen).startswith("**Warning: the groups spent differently before the campaign**")


def test_an_audience_is_never_the_whole_eligible_pool(snap, truth):
    """Were every eligible member in the audience, a merchant would know that an eligible
    customer paying without redeeming was held out."""
    from pipelines.core.draw import MAX_REACH

    campaigns = pl.read_parquet(snap.files("campaigns")).filter(pl.col("owner_kind") == "merchant")
    members = truth["members"]
    for row in campaigns.iter_rows(named=True):
        district = row["audience_rule"].split("district ")[1].split(":")[0]
        lived = (pl.col("home_district_id") == district) | (pl.col("previous_home_district_id") == district)
        shoppers = members.filter(pl.col("uses_retail") & lived).height
        audience = truth["campaign_effects"].filter(pl.col("campaign_id") == row["campaign_id"]).height
        assert audience <= MAX_REACH * shoppers + 1, row["campaign_id"]
