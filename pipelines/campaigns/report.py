"""What a campaign report shows: one campaign's result in plain words, for the operator (every
figure), or for the merchant that paid for the offer (a few coarse figures, published once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from pipelines.campaigns.effects import Settings
from pipelines.campaigns.marts import SQL
from pipelines.campaigns.settings import load_settings
from pipelines.core import catalog
from pipelines.core.snapshot import Snapshot
from pipelines.privacy import K_MIN

VIEWS = ("operator", "merchant")
METRIC_WORDS = {
    "buyers": "share of members who bought",
    "transactions": "purchases per member",
    "ntd": "NT$ per member",
}


@dataclass(frozen=True)
class CampaignReport:
    campaign: dict[str, Any]  # its row of campaign_results
    effects: pl.DataFrame  # the whole audience: one row per metric
    segments: pl.DataFrame  # the NT$ effect per segment, as the view may show it
    arms: pl.DataFrame
    settings: Settings

    @property
    def ntd(self) -> dict[str, Any]:
        return self.effects.filter(pl.col("metric") == "ntd").row(0, named=True)

    @property
    def enough_buyers(self) -> bool:
        """Every arm has at least K_MIN buyers: the disclosure floor of the merchant's view."""
        return bool((self.arms["buyers"] >= K_MIN).all()) and self.arms.height == 2

    @property
    def sample_ratio_ok(self) -> bool:
        return self.campaign["srm_pvalue"] >= self.settings.srm_alpha

    @property
    def balanced(self) -> bool:
        """The arms spent alike before the campaign (within chance)."""
        p = self.campaign["balance_pvalue"]
        return p is None or p >= self.settings.srm_alpha

    def arms_table(self) -> pl.DataFrame:
        """The two arms side by side, counts and per-member figures."""
        return self.arms.select(
            "arm",
            "members",
            "buyers",
            "transactions",
            "ntd",
            (pl.col("buyers") / pl.col("members") * 100).round(1).alias("bought_pct"),
            (pl.col("transactions") / pl.col("members")).round(2).alias("purchases_per_member"),
            (pl.col("ntd") / pl.col("members")).round(0).alias("ntd_per_member"),
            (pl.col("pre_ntd") / pl.col("members")).round(0).alias("ntd_per_member_before"),
            "redemptions",
            "redeemed_ntd",
        )

    def reading(self) -> list[str]:
        """Did it work, by how much, how sure are we, for whom: a few sentences."""
        c, e = self.campaign, self.ntd
        level = f"{self.settings.confidence:.0%}"
        out = []
        if not self.sample_ratio_ok:
            out.append(
                f"**Warning: the arms are not the sizes the campaign declared** ({c['holdout_members']:,} held out of "
                f"{c['holdout_members'] + c['treatment_members']:,}, declared {c['holdout_share']:.0%}; sample-ratio "
                f"test p = {c['srm_pvalue']:.2g}). The holdout may not have been drawn at random: treat every figure "
                "below as unreliable."
            )
        if not self.balanced:
            out.append(
                f"**Warning: the arms spent differently before the campaign** (test of the NT$ per member in "
                f"the {self.settings.pre_period_days} days before, p = {c['balance_pvalue']:.2g}). A holdout drawn "
                "at random spends like the treatment arm; this one may have been chosen, not drawn: treat every "
                "figure below as unreliable."
            )
        if e["effect"] is None:
            return [*out, "No effect can be estimated: an arm has fewer than two members, or nobody in it bought."]
        lo, hi = e["ci_lower"], e["ci_upper"]
        where = "at the offer's outlets" if c["kind"] == "merchant_offer" else "on the card"
        if lo > 0:
            out.append(
                f"**It worked.** Members sent the offer spent NT${e['effect']:,.0f} more each {where} during the "
                f"campaign than members held out (between NT${lo:,.0f} and NT${hi:,.0f}, {level} interval)."
            )
        elif hi < 0:
            out.append(
                f"**It backfired.** Members sent the offer spent NT${-e['effect']:,.0f} less each {where} than "
                f"members held out (between NT${-hi:,.0f} and NT${-lo:,.0f} less, {level} interval)."
            )
        else:
            out.append(
                f"**No effect could be shown.** The difference, NT${e['effect']:,.0f} per member, is within what "
                f"chance gives (between NT${lo:,.0f} and NT${hi:,.0f}, {level} interval); this campaign could "
                f"only have detected an effect of about NT${e['mde']:,.0f} per member or more."
            )
        if c["ntd_per_cost"] is not None:
            out.append(
                f"The offer cost NT${c['cost_ntd']:,} in {c['redemptions']:,} redemptions and brought about "
                f"NT${c['incremental_ntd']:,.0f} of extra spending: NT${c['ntd_per_cost']:.2f} per NT$ of cost "
                f"(between {c['ntd_per_cost_lower']:.2f} and {c['ntd_per_cost_upper']:.2f})."
            )
        narrowing = c["cuped_narrowing"]
        if narrowing is not None and round(narrowing, 2) == 0:
            out.append("Using each member's spending before the campaign (CUPED) made no difference to the interval.")
        elif narrowing is not None:
            out.append(
                f"Using each member's spending in the {self.settings.pre_period_days} days before the "
                f"campaign (CUPED) made this interval {abs(narrowing):.0%} "
                f"{'narrower' if narrowing >= 0 else 'wider'} than the plain difference of means."
            )
        shown = self.segments.filter(pl.col("significant"))
        if shown.height:
            out.append(
                "It moved spending most clearly among: "
                + ", ".join(f"{s} (NT${x:,.0f})" for s, x in shown.select("segment", "effect").iter_rows())
                + "."
            )
        return out


def _segments(effects: pl.DataFrame) -> pl.DataFrame:
    return (
        effects.filter((pl.col("segment") != "all") & (pl.col("metric") == "ntd"))
        .with_columns(significant=((pl.col("ci_lower") > 0) | (pl.col("ci_upper") < 0)).fill_null(False))
        .sort("segment")
    )


def campaign_report(con: duckdb.DuckDBPyConnection, campaign: str) -> CampaignReport:
    """One campaign's report from the marts, every figure: the operator's."""
    results = catalog.frame(con, "SELECT * FROM campaign_results WHERE campaign_id = ?", [campaign])
    if results.height == 0:
        raise ValueError(f"campaign {campaign!r} is not in this snapshot")
    row = results.row(0, named=True)
    effects = catalog.frame(con, SQL.load("rpt_campaign_effects"), [campaign])
    arms = catalog.frame(con, SQL.load("rpt_campaign_arms"), [campaign])
    return CampaignReport(
        campaign=row,
        effects=effects.filter(pl.col("segment") == "all").drop("segment"),
        segments=_segments(effects),
        arms=arms,
        settings=load_settings(),
    )


def check_params(con: duckdb.DuckDBPyConnection, snap: Snapshot, params: dict[str, Any]) -> None:
    """Refuse, before anything runs, a campaign the snapshot does not hold or a view it has not."""
    campaign, view = params.get("campaign") or "", params.get("view") or "operator"
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    if campaign:
        kinds = catalog.frame(con, "SELECT kind FROM campaigns WHERE campaign_id = ?", [campaign])["kind"]
        if kinds.len() == 0:
            raise ValueError(f"campaign {campaign!r} is not in snapshot {snap.id}")
        if view == "merchant" and kinds[0] != "merchant_offer":
            raise ValueError(f"campaign {campaign} is the operator's subsidy: it has no merchant's view")
