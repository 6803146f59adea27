"""The campaign family's marts, for every campaign at once: campaign_members (each audience
member's purchases that count, before and during), campaign_arms (their sums per arm),
campaign_effects (treatment minus holdout per campaign, segment and metric) and
campaign_results (one row per campaign: sizes, sample ratio, cost and incremental NT$)."""

from __future__ import annotations

import polars as pl

from pipelines.campaigns.effects import effects, srm_pvalue
from pipelines.campaigns.settings import load_settings
from pipelines.core.family import MartWriter
from pipelines.core.sql import SqlFolder

SQL = SqlFolder.beside(__file__)


def build(out: MartWriter) -> None:
    settings = load_settings()
    out.view("stg_campaign_purchases", SQL.load("stg_campaign_purchases"))
    out.query(
        "int_campaign_windows",
        SQL.load("int_campaign_windows"),
        {"pre_period_days": settings.pre_period_days},
        kept=False,
    )
    # A monthly extension computes the campaigns whose days reach its new months; the others'
    # rows are the parent's (MartWriter's reuse by month).
    since = out.since.isoformat() if out.extending and out.since else "0001-01-01"
    earliest = out.fetch(
        "SELECT min(pre_start) FROM int_campaign_windows WHERE last_month >= CAST($since AS DATE)", {"since": since}
    ).item()
    window = {"since": since, "from": earliest.isoformat() if earliest and out.extending else "0001-01-01"}
    out.query("int_campaign_hits", SQL.load("int_campaign_hits"), window, kept=False)
    out.query("campaign_members", SQL.load("mart_campaign_members"), {"since": since}, reuse="last_month")
    out.query("campaign_arms", SQL.load("mart_campaign_arms"))
    estimates = effects(out.fetch(SQL.load("int_campaign_aggregates")), settings)
    out.frame("campaign_effects", estimates)
    out.frame("campaign_results", results(out.fetch(SQL.load("int_campaign_results")), estimates))


def results(campaigns: pl.DataFrame, estimates: pl.DataFrame) -> pl.DataFrame:
    """One row per campaign: its arms, the sample-ratio test, and the NT$ the offer brought
    against the NT$ it paid (the NT$ effect per member times the treated members)."""
    ntd = estimates.filter((pl.col("segment") == "all") & (pl.col("metric") == "ntd")).select(
        "campaign_id", "effect", "ci_lower", "ci_upper", "plain_ci_lower", "plain_ci_upper", "balance_pvalue"
    )
    srm = [
        srm_pvalue(h, t, s)
        for h, t, s in campaigns.select("holdout_members", "treatment_members", "holdout_share").iter_rows()
    ]
    treated = pl.col("treatment_members")
    per_cost = 1 / pl.when(pl.col("cost_ntd") > 0).then(pl.col("cost_ntd"))
    return (
        campaigns.with_columns(srm_pvalue=pl.Series(srm, dtype=pl.Float64))
        .join(ntd, on="campaign_id", how="left")
        .select(
            pl.exclude("effect", "ci_lower", "ci_upper", "plain_ci_lower", "plain_ci_upper"),
            incremental_ntd=pl.col("effect") * treated,
            incremental_ntd_lower=pl.col("ci_lower") * treated,
            incremental_ntd_upper=pl.col("ci_upper") * treated,
            ntd_per_cost=pl.col("effect") * treated * per_cost,
            ntd_per_cost_lower=pl.col("ci_lower") * treated * per_cost,
            ntd_per_cost_upper=pl.col("ci_upper") * treated * per_cost,
            cuped_narrowing=1
            - (pl.col("ci_upper") - pl.col("ci_lower")) / (pl.col("plain_ci_upper") - pl.col("plain_ci_lower")),
        )
        .sort("campaign_id")
    )
