"""The merchant's view of a campaign: coarse figures about the effect only, none about the
arms, shown only over 10 buyers an arm, and published once."""

from __future__ import annotations

import dataclasses
import json

import polars as pl
import pytest

from pipelines.campaigns import merchant_view as mv
from pipelines.campaigns import page
from pipelines.campaigns.report import campaign_report
from pipelines.core import catalog
from pipelines.privacy.published import published_path


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
    f = mv.merchant_figures(report)
    exact = report.ntd
    assert f["shown"] and f["ntd_lower"] <= exact["ci_lower"] and exact["ci_upper"] <= f["ntd_upper"]
    assert all(f[k] % 10 == 0 for k in ("ntd_effect", "ntd_lower", "ntd_upper", "ntd_detectable"))
    assert abs(f["ntd_effect"] - exact["effect"]) <= 5
    assert f["bought_points"] == round(100 * report.effects.filter(pl.col("metric") == "buyers")["effect"][0])
    published = set(f)
    for arm_figure in ("members", "buyers", "treatment_members", "holdout_members", "audience_rule", "cost_ntd"):
        assert arm_figure not in published
    assert json.dumps(f, default=str)  # what is kept is plain data


def test_an_offer_with_fewer_than_10_buyers_in_an_arm_shows_nothing(mart_con):
    offers = _offers(mart_con).filter(pl.col("fewest") < 10)
    assert offers.height, "the test snapshot has an offer an arm of which has fewer than 10 buyers"
    f = mv.merchant_figures(campaign_report(mart_con, offers["campaign_id"][0]))
    assert not f["shown"] and f["why"] == "few_buyers"
    assert "ntd_effect" not in f
    answer = page.Page(mart_con, page.words("en"), view=mv.MerchantView(f)).answer().markdown
    assert "No figures for this campaign" in answer and "fewer than 10 members" in answer


def test_a_draw_the_checks_flag_shows_nothing(mart_con):
    report = campaign_report(mart_con, _offers(mart_con)["campaign_id"][0])
    flagged = dataclasses.replace(report, campaign={**report.campaign, "balance_pvalue": 1e-9})
    assert mv.merchant_figures(flagged) == {**mv.merchant_figures(flagged), "shown": False}
    shown = page.Page(mart_con, page.words("en"), view=mv.MerchantView(mv.merchant_figures(flagged)))
    assert "not drawn at random" in shown.answer().markdown


def test_an_operator_subsidy_has_no_merchant_view(mart_con):
    subsidy = catalog.frame(mart_con, "SELECT min(campaign_id) AS c FROM campaigns WHERE kind = 'operator_subsidy'")
    with pytest.raises(ValueError, match="operator's subsidy"):
        mv.merchant_figures(campaign_report(mart_con, subsidy["c"][0]))


def test_the_view_is_published_once_and_shown_again_after_the_data_change(mart_con, monkeypatch, isolated_data):
    campaign = _offers(mart_con)["campaign_id"][0]
    first = mv.merchant_view(mart_con, campaign)
    path = published_path("campaign-merchant-view", mv.publication_key(mart_con, campaign))
    assert path.exists() and path.name.startswith(campaign)
    # A correction changes the figures: the view keeps what it published.
    real = mv.campaign_report

    def corrected(con, c):
        report = real(con, c)
        return dataclasses.replace(report, campaign={**report.campaign, "ntd_per_cost": 99.0})

    monkeypatch.setattr(mv, "campaign_report", corrected)
    again = mv.merchant_view(mart_con, campaign)
    assert again.figures == first.figures
    path.unlink()
    assert mv.merchant_view(mart_con, campaign).figures["per_cost"] == 99.0
