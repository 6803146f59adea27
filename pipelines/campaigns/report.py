"""One campaign's figures as the operator's report reads them from the marts, the checks of a
report's parameters, and the campaign a report shows by default. The merchant's coarse view
is worked out from them in merchant_view.py; page.py puts either into words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from pipelines.campaigns.effects import Settings
from pipelines.campaigns.marts import SQL
from pipelines.campaigns.settings import load_settings
from pipelines.core import catalog
from pipelines.core.schema import CAMPAIGN_KINDS
from pipelines.core.snapshot import Snapshot
from pipelines.privacy import K_MIN

VIEWS = ("operator", "merchant")


@dataclass(frozen=True)
class CampaignReport:
    campaign: dict[str, Any]  # its row of campaign_results
    effects: pl.DataFrame  # the whole audience: one row per metric
    segments: pl.DataFrame  # the NT$ effect per segment, and whether it is told from chance
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


def default_campaign(con: duckdb.DuckDBPyConnection) -> str:
    """The first campaign of the snapshot's last campaign month: what a report shows by default."""
    found = catalog.frame(con, SQL.load("rpt_list_month_campaigns"), {"kinds": list(CAMPAIGN_KINDS)})["campaign_id"]
    if found.len() == 0:
        raise ValueError("no campaign ended inside this snapshot: name one with the campaign parameter")
    return found[0]


def check_params(con: duckdb.DuckDBPyConnection, snap: Snapshot, params: dict[str, Any]) -> None:
    """Refuse, before anything runs, a campaign the snapshot does not hold or a view it has not."""
    campaign, view = params.get("campaign") or "", params.get("view") or "operator"
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    if campaign:
        found = catalog.frame(con, "SELECT kind, end_date FROM campaigns WHERE campaign_id = ?", [campaign])
        if found.height == 0:
            raise ValueError(f"campaign {campaign!r} is not in snapshot {snap.id}")
        if view == "merchant" and found["kind"][0] != "merchant_offer":
            raise ValueError(f"campaign {campaign} is the operator's subsidy: it has no merchant's view")
        if view == "merchant" and found["end_date"][0] > snap.end:
            raise ValueError(
                f"campaign {campaign} runs until {found['end_date'][0]}, after the snapshot ({snap.end}): its "
                "merchant's view is published once the campaign is over"
            )
