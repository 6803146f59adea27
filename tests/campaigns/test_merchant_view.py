"""The merchant's view of a campaign: coarse figures about the effect only, none about the
arms, shown only over 10 buyers an arm, and published once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import duckdb
import polars as pl
import pytest

from pipelines.campaigns import merchant_view as mv
from pipelines.campaigns import page
from pipelines.campaigns.report import campaign_report
from pipelines.core import catalog
from pipelines.privacy.published import published_path

#: The test snapshot's last day: every campaign is over by then.
END = dt.date(2025, 6, 30)


def _offers(con) -> pl.DataFrame:
    return catalog.frame(
        con,
        "SELECT r.campaign_id, min(a.buyers) AS fewest FROM campaign_results r "
        "JOIN campaign_arms a USING (campaign_id) WHERE r.kind = 'merchant_offer' "
        "GROUP BY ALL ORDER BY fewest DESC, campaign_id",
    )


def test_figures_are_coarse_hold_the_exact_interval_and_say_nothing_of_the_arms(mart_con):
    offers = _offers(mart_con)
    assert offers["fewest"][0] >= 10, "the test snapshot has an offer with 10 buyers in each arm"
    report = campaign_report(mart_con, offers["campaign_id"][0])
    f = mv.merchant_figures(report, END)
    exact = report.ntd
    assert f["shown"] and f["verdict"] == mv.verdict(exact["ci_lower"], exact["ci_upper"])
    for key, exact_value in (("ntd_effect", "effect"), ("ntd_lower", "ci_lower"), ("ntd_upper", "ci_upper")):
        assert f[key] % 10 == 0 and isinstance(f[key], int) and abs(f[key] - exact[exact_value]) <= 5
    assert f["ntd_detectable"] >= exact["mde"] and f["ntd_detectable"] % 10 == 0
    assert "per_cost" not in f or float(f["per_cost"] * 2).is_integer()
    assert f["bought_points"] == round(100 * report.effects.filter(pl.col("metric") == "buyers")["effect"][0])
    published = set(f)
    for arm_figure in ("members", "buyers", "treatment_members", "holdout_members", "audience_rule", "cost_ntd"):
        assert arm_figure not in published
    assert json.dumps(f, default=str)  # what is kept is plain data


def test_an_offer_with_fewer_than_10_buyers_in_an_arm_shows_nothing(mart_con):
    offers = _offers(mart_con).filter(pl.col("fewest") < 10)
    assert offers.height, "the test snapshot has an offer an arm of which has fewer than 10 buyers"
    f = mv.merchant_figures(campaign_report(mart_con, offers["campaign_id"][0]), END)
    assert not f["shown"] and f["why"] == "few_buyers"
    assert "ntd_effect" not in f
    answer = page.Page(mart_con, page.words("en"), view=mv.MerchantView(f)).answer().markdown
    assert "No figures for this campaign" in answer and "too few people bought" in answer


def test_a_draw_the_checks_flag_shows_nothing(mart_con):
    report = campaign_report(mart_con, _offers(mart_con)["campaign_id"][0])
    flagged = dataclasses.replace(report, campaign={**report.campaign, "balance_pvalue": 1e-9})
    assert mv.merchant_figures(flagged, END) == {**mv.merchant_figures(flagged, END), "shown": False}
    shown = page.Page(mart_con, page.words("en"), view=mv.MerchantView(mv.merchant_figures(flagged, END)))
    assert "not drawn at random" in shown.answer().markdown


def test_an_operator_subsidy_has_no_merchant_view(mart_con):
    subsidy = catalog.frame(mart_con, "SELECT min(campaign_id) AS c FROM campaigns WHERE kind = 'operator_subsidy'")
    with pytest.raises(ValueError, match="operator's subsidy"):
        mv.merchant_figures(campaign_report(mart_con, subsidy["c"][0]), END)


def test_the_view_is_published_once_and_shown_again_after_the_data_change(mart_con, monkeypatch, isolated_data):
    campaign = _offers(mart_con)["campaign_id"][0]
    first = mv.merchant_view(mart_con, campaign, END)
    path = published_path("campaign-merchant-view", mv.publication_key(mart_con, campaign))
    assert path.exists() and path.name.startswith(campaign)
    # A correction changes the figures: the view keeps what it published.
    real = mv.campaign_report

    def corrected(con, c):
        report = real(con, c)
        return dataclasses.replace(report, campaign={**report.campaign, "ntd_per_cost": 99.0})

    monkeypatch.setattr(mv, "campaign_report", corrected)
    again = mv.merchant_view(mart_con, campaign, END)
    assert again.figures == first.figures
    path.unlink()
    assert mv.merchant_view(mart_con, campaign, END).figures["per_cost"] == 99.0


def test_a_campaign_not_over_yet_has_no_merchant_view(mart_con):
    report = campaign_report(mart_con, _offers(mart_con)["campaign_id"][0])
    day_before_end = report.campaign["end_date"] - dt.timedelta(days=1)
    with pytest.raises(ValueError, match="published to the merchant once the campaign is over"):
        mv.merchant_figures(report, day_before_end)


def test_the_verdict_comes_from_the_unrounded_interval():
    # A lower bound of 8.1 rounds to 10 shown, and it is the unrounded one that says it worked.
    assert mv.verdict(8.1, 44.5) == "worked" and mv.verdict(-3.0, 44.5) == "no_effect"
    assert mv.verdict(-40.0, -0.2) == "backfired"
    assert mv._round(0.1 + 0.2, 0.1) == 0.3 and mv._round(29.6, 10) == 30 and isinstance(mv._round(29.6, 10), int)


def test_a_correction_of_the_campaign_row_buys_no_second_publication(mart_con):
    """The publication is keyed on the campaign and its owner: a corrected name or date keeps the
    key (and so the figures first published); another owner's campaign of the same ID does not."""
    campaigns = catalog.frame(mart_con, "SELECT * FROM campaigns")
    campaign = _offers(mart_con)["campaign_id"][0]

    def key(frame: pl.DataFrame) -> str:
        con = duckdb.connect()
        con.register("campaigns", frame.to_arrow())
        return mv.publication_key(con, campaign)

    mine = pl.col("campaign_id") == campaign
    corrected = campaigns.with_columns(
        pl.when(mine).then(pl.lit("renamed")).otherwise("campaign_name").alias("campaign_name"),
        pl.when(mine).then(pl.col("end_date") + dt.timedelta(days=1)).otherwise("end_date").alias("end_date"),
    )
    other = campaigns.with_columns(pl.when(mine).then(pl.lit("S0000999")).otherwise("owner_id").alias("owner_id"))
    assert key(campaigns) == key(corrected) == mv.publication_key(mart_con, campaign) != key(other)
