"""The gate's campaign rules: a holdout not drawn as declared, a duplicate assignment, or a
redemption outside the treatment arm or the campaign's days stops the snapshot."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from pipelines.core.snapshot import snapshot_path
from pipelines.quality.gate import validate
from pipelines.quality.suites import CAMPAIGN_Z
from tests.quality.test_gate import NOW, failed, tamper, tamper_tables


def _test_table(name: str) -> pl.DataFrame:
    """A table of the test snapshot itself (the tests below run in an isolated data folder)."""
    return pl.read_parquet(Path(os.environ["CARD_INSIGHTS_TEST_DATA"]) / "snapshots" / "test" / name / "*.parquet")


@pytest.fixture(scope="module")
def largest() -> str:
    """The test snapshot's campaign with the largest audience."""
    assignments = _test_table("campaign_assignments")
    counts = assignments.group_by("campaign_id").len().sort("len", "campaign_id", descending=[True, False])
    # A 60/40 split of this many members lies more than CAMPAIGN_Z standard errors from 50/50.
    assert 0.1 * counts["len"][0] / (0.25 * counts["len"][0]) ** 0.5 > CAMPAIGN_Z
    return counts["campaign_id"][0]


def _redraw(frame: pl.DataFrame, campaign: str, holdout: pl.Expr) -> pl.DataFrame:
    """The campaign's arms redrawn by `holdout` (true: held out); the treatment is sent the
    offer when the campaign's other treated members were."""
    mine = pl.col("campaign_id") == campaign
    sent = pl.col("sent_at").max().over("campaign_id")
    return frame.with_columns(
        pl.when(mine)
        .then(pl.when(holdout).then(pl.lit("holdout")).otherwise(pl.lit("treatment")))
        .otherwise("arm")
        .alias("arm")
    ).with_columns(pl.when(pl.col("arm") == "treatment").then(pl.col("sent_at").fill_null(sent)).alias("sent_at"))


def _balance(snapshot: str, campaign: str) -> dict:
    verdict = validate(snapshot, now=NOW)
    observed = {row["campaign_id"]: row for row in verdict.document["observed"]["campaign_balance"]}
    return {"failed": failed(verdict), **observed[campaign]}


def test_the_test_snapshot_carries_campaigns(snap):
    tables = snap.manifest["tables"]
    assert min(tables[t]["rows"] for t in ("campaigns", "campaign_assignments", "redemptions")) > 0


def test_arms_drawn_60_40_but_declared_50_50_fail_the_sample_ratio_rule(isolated_data, largest):
    def split_60_40(frame: pl.DataFrame) -> pl.DataFrame:
        members = frame.filter(pl.col("campaign_id") == largest)["member_id"].sort()
        return _redraw(frame, largest, pl.col("member_id") < members[int(len(members) * 0.4)])

    def declare_half(frame: pl.DataFrame) -> pl.DataFrame:
        mine = pl.col("campaign_id") == largest
        return frame.with_columns(pl.when(mine).then(0.5).otherwise(pl.col("holdout_share")).alias("holdout_share"))

    bad = tamper_tables({"campaign_assignments": split_60_40, "campaigns": declare_half}, "srm")
    seen = _balance(bad, largest)
    assert seen["holdout_share"] == pytest.approx(0.4, abs=0.01)
    assert seen["srm_z"] < -CAMPAIGN_Z
    assert ("campaign_balance", "srm_z", "expect_column_values_to_be_between") in seen["failed"]


def test_a_holdout_drawn_from_the_most_active_members_fails_the_balance_rule(isolated_data, largest):
    cards = _test_table("cards").select("card_id", "member_id")
    accounts = _test_table("members").select("account_id", pl.col("member_id").alias("wallet_member"))
    spend = (
        _test_table("purchases")
        .join(cards, on="card_id", how="left")
        .join(accounts, on="account_id", how="left")
        .group_by(pl.coalesce("member_id", "wallet_member").alias("member_id"))
        .agg(pl.col("amount").sum().alias("spend"))
        .drop_nulls("member_id")
    )

    def most_active_held_out(frame: pl.DataFrame) -> pl.DataFrame:
        audience = frame.filter(pl.col("campaign_id") == largest)
        share = audience.filter(pl.col("arm") == "holdout").height / audience.height
        ranked = audience.join(spend, on="member_id", how="left").sort("spend", "member_id", descending=True)
        top = ranked["member_id"].head(round(share * audience.height))
        return _redraw(frame, largest, pl.col("member_id").is_in(top.implode()))

    seen = _balance(tamper("campaign_assignments", most_active_held_out, "active"), largest)
    assert abs(seen["srm_z"]) < CAMPAIGN_Z, "the arms keep their sizes: only the balance rule can see it"
    assert seen["pre_spend_z"] < -CAMPAIGN_Z
    assert ("campaign_balance", "pre_spend_z", "expect_column_values_to_be_between") in seen["failed"]


def test_a_member_assigned_twice_fails(isolated_data):
    bad = tamper("campaign_assignments", lambda f: pl.concat([f, f.head(1)]), "twice")
    assert ("campaign_assignments", "member_id", "unexpected_rows_expectation") in failed(validate(bad, now=NOW))


def test_redemptions_outside_the_treatment_arm_or_the_days_fail(isolated_data):
    first = _test_table("campaigns")["campaign_id"].min()
    # Every redemption moved onto the first campaign: most fall outside its days or its arm.
    bad = tamper("redemptions", lambda f: f.with_columns(campaign_id=pl.lit(first)).unique(), "redeemed")
    verdict = validate(bad, now=NOW)
    rule = "offers are redeemed only by the treatment arm, inside the campaign's days"
    assert any(
        o.expectation["meta"]["table"] == "redemptions" and rule in o.expectation.get("description", "")
        for o in verdict.failures
    ), failed(verdict)
    assert snapshot_path(bad).exists()


def test_a_merchant_offer_redeemed_at_another_outlet_fails(isolated_data):
    """One redemption of a merchant's offer moved to the same member's purchase, in the same
    days, at another outlet: everything but the outlet is in order, and the rule sees it."""
    campaigns = _test_table("campaigns").filter(pl.col("owner_kind") == "merchant")
    redemptions = _test_table("redemptions").join(
        campaigns.select("campaign_id", "owner_id", "start_date", "end_date"), on="campaign_id"
    )
    purchases = _test_table("purchases").with_columns(day=pl.col("purchased_at").dt.date())
    redeemed = redemptions.join(purchases, on="purchase_id")
    payer = ["card_id", "account_id"]
    elsewhere = (
        redeemed.select("campaign_id", "purchase_id", *payer, "owner_id", "start_date", "end_date")
        .join(purchases.rename({"purchase_id": "other"}), on=payer, nulls_equal=True)
        .filter((pl.col("merchant_id") != pl.col("owner_id")) & pl.col("day").is_between("start_date", "end_date"))
        .join(
            redemptions.select("campaign_id", pl.col("purchase_id").alias("other")),
            on=["campaign_id", "other"],
            how="anti",
        )
        .sort("campaign_id", "purchase_id", "other")
        .head(1)
    )
    assert elsewhere.height == 1, "a treated member who also shopped elsewhere during the offer"
    moved = elsewhere.row(0, named=True)

    def move(frame: pl.DataFrame) -> pl.DataFrame:
        here = (pl.col("campaign_id") == moved["campaign_id"]) & (pl.col("purchase_id") == moved["purchase_id"])
        return frame.with_columns(
            pl.when(here).then(pl.lit(moved["other"])).otherwise("purchase_id").alias("purchase_id")
        )

    verdict = validate(tamper("redemptions", move, "elsewhere"), now=NOW)
    rule = "at the owner's outlets"
    failures = [o for o in verdict.failures if rule in o.expectation.get("description", "")]
    assert len(failures) == 1 and failures[0].expectation["meta"]["table"] == "redemptions", failed(verdict)
