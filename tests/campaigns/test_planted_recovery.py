"""The generator's planted campaigns recovered on a scale-1 snapshot: the intervals cover the
planted effects, and members planted with no effect show none."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines import marts
from pipelines.campaigns.effects import estimate
from pipelines.core import catalog
from pipelines.core.paths import ground_truth_dir
from pipelines.ingest.generator import generate
from pipelines.quality.gate import validate


@pytest.fixture(scope="module")
def scale_1(tmp_path_factory):
    """A scale-1 snapshot (10,000 members, 15 campaigns of up to 1,500 members) and what was
    planted in it: the test snapshot's audiences are too small to test recovery on."""
    data = tmp_path_factory.mktemp("scale-1")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARD_INSIGHTS_DATA", str(data))
        generate("scale-1", scale=1.0)
        validate("scale-1", now=dt.datetime(2026, 11, 23))
        marts.build("scale-1")
        folder = ground_truth_dir() / "scale-1"
        truth = {p.stem: pl.read_parquet(p) for p in folder.glob("*.parquet")}
        truth |= {d.name: pl.read_parquet(d / "*.parquet") for d in folder.iterdir() if d.is_dir()}
        with marts.connect("scale-1") as con:
            yield con, truth


def test_planted_effects_are_recovered(scale_1):
    mart_con, truth = scale_1
    planted = (
        truth["campaign_effects"]
        .group_by("campaign_id")
        .agg(pl.col("true_extra_ntd").mean().alias("true_ntd"), pl.col("true_extra_purchases").mean().alias("true_tx"))
    )
    measured = catalog.frame(
        mart_con, "SELECT campaign_id, metric, ci_lower, ci_upper FROM campaign_effects WHERE segment = 'all'"
    ).pivot(on="metric", index="campaign_id", values=["ci_lower", "ci_upper"])
    both = measured.join(planted, on="campaign_id")
    assert both.height == planted.height >= 10
    both = both.drop_nulls()
    assert both.height >= 10, "every campaign has buyers in both arms"
    covered = ((both["ci_lower_ntd"] <= both["true_ntd"]) & (both["true_ntd"] <= both["ci_upper_ntd"])).to_list() + (
        (both["ci_lower_transactions"] <= both["true_tx"]) & (both["true_tx"] <= both["ci_upper_transactions"])
    ).to_list()
    # 95 % intervals: with this many campaigns, more than 85 % of them cover what was planted.
    assert sum(covered) / len(covered) >= 0.85, (sum(covered), len(covered))


def test_daily_members_planted_with_no_effect_show_none(scale_1):
    """The generator planted no effect on daily members: among them, treatment minus holdout is
    significant in about 5 % of campaigns at most."""
    mart_con, truth = scale_1
    tiers = truth["campaign_effects"].select("campaign_id", "member_id", "tier")
    members = catalog.frame(mart_con, "SELECT campaign_id, member_id, arm, ntd, pre_ntd FROM campaign_members")
    daily = members.join(tiers, on=["campaign_id", "member_id"]).filter(pl.col("tier") == "daily")
    significant, tested = 0, 0
    for (_campaign,), group in daily.group_by("campaign_id"):
        arms = {}
        for arm in ("holdout", "treatment"):
            g = group.filter(pl.col("arm") == arm)
            if g.height < 5:
                break
            arms[arm] = {
                "n": g.height,
                "mean_y": g["ntd"].mean(),
                "mean_x": g["pre_ntd"].mean(),
                "var_y": g["ntd"].var(),
                "var_x": g["pre_ntd"].var(),
                "cov_xy": pl.select(pl.cov(g["pre_ntd"], g["ntd"])).item(),
            }
        result = estimate(arms["holdout"], arms["treatment"]) if len(arms) == 2 else {"pvalue": None}
        # No daily member bought at the shop in either arm: nothing to estimate, nothing to test.
        if result["pvalue"] is not None:
            tested += 1
            significant += result["pvalue"] < 0.05
    assert tested >= 8
    assert significant <= max(1, round(0.1 * tested)), (significant, tested)
