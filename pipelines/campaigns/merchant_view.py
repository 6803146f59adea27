"""What the merchant who paid for an offer is told about it: a few coarse figures, published once.

The merchant knows its own till (every purchase at its outlets, and which redeemed the offer)
but not who was in the audience or the holdout. Figures about the arms (their sizes, buyers,
spending per member before or during) would let it divide its till's totals into small
groups' spending, so the merchant's view shows none of them: only the effect per member in
NT$ and in the share who bought, with their intervals, the smallest detectable effect and the
NT$ brought per NT$ of offer, each rounded outwards to a coarse step. It shows them only when
each arm has at least K_MIN buyers, and never after a draw the checks flag. The first
publication is kept (pipelines/privacy/published.py): a run after a refund or a correction shows
the same figures, so two versions cannot be subtracted to read one member's purchases.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from pipelines.campaigns.report import CampaignReport, campaign_report
from pipelines.core import catalog
from pipelines.privacy.published import once

#: Rounding steps of the published figures: NT$ per member, points of the share who bought,
#: NT$ per NT$ of offer.
NTD_STEP, POINT_STEP, RATIO_STEP = 10, 1, 0.1
_CAMPAIGN = ("campaign_id", "campaign_name", "owner_kind", "owner_id", "start_date", "end_date", "offer_value")


def _outwards(low: float, high: float, step: float) -> tuple[float, float]:
    """An interval rounded outwards to the step: it still holds what it held."""
    return (math.floor(low / step) * step, math.ceil(high / step) * step)


def _round(x: float, step: float) -> float:
    return round(round(x / step) * step, 10)


def merchant_figures(report: CampaignReport) -> dict[str, Any]:
    """The merchant's figures of a campaign, or why there are none (pure: no I/O)."""
    c = report.campaign
    out: dict[str, Any] = {k: (str(c[k]) if k.endswith("_date") else c[k]) for k in _CAMPAIGN}
    out["holdout_share"] = c["holdout_share"]
    if c["kind"] != "merchant_offer":
        raise ValueError(f"campaign {c['campaign_id']} is the operator's subsidy: it has no merchant's view")
    if not (report.sample_ratio_ok and report.balanced):
        return out | {"shown": False, "why": "draw"}
    e = report.ntd
    if not report.enough_buyers or e["effect"] is None:
        return out | {"shown": False, "why": "few_buyers"}
    bought = report.effects.filter(pl.col("metric") == "buyers").row(0, named=True)
    lo, hi = _outwards(e["ci_lower"], e["ci_upper"], NTD_STEP)
    blo, bhi = _outwards(100 * bought["ci_lower"], 100 * bought["ci_upper"], POINT_STEP)
    figures = {
        "shown": True,
        "ntd_effect": _round(e["effect"], NTD_STEP),
        "ntd_lower": lo,
        "ntd_upper": hi,
        "ntd_detectable": math.ceil(e["mde"] / NTD_STEP) * NTD_STEP,
        "bought_points": _round(100 * bought["effect"], POINT_STEP),
        "bought_lower": blo,
        "bought_upper": bhi,
    }
    if c["ntd_per_cost"] is not None:
        rlo, rhi = _outwards(c["ntd_per_cost_lower"], c["ntd_per_cost_upper"], RATIO_STEP)
        figures |= {"per_cost": _round(c["ntd_per_cost"], RATIO_STEP), "per_cost_lower": rlo, "per_cost_upper": rhi}
    return out | figures


@dataclass(frozen=True)
class MerchantView:
    figures: dict[str, Any]  # as first published


def publication_key(con: duckdb.DuckDBPyConnection, campaign: str) -> str:
    """The campaign as it was defined (its row of the campaigns table, hashed): the same
    campaign in a later or corrected snapshot has the same key; another campaign that happens
    to have the same ID (in another SYNTHETIC world) has another."""
    row = catalog.frame(con, "SELECT * FROM campaigns WHERE campaign_id = ?", [campaign])
    if row.height != 1:
        raise ValueError(f"campaign {campaign!r} is not in this snapshot")
    digest = hashlib.sha256(json.dumps(row.row(0, named=True), default=str, sort_keys=True).encode())
    return f"{campaign}-{digest.hexdigest()[:16]}"


def merchant_view(con: duckdb.DuckDBPyConnection, campaign: str) -> MerchantView:
    """The merchant's view of a campaign: as first published, or worked out and kept now."""
    key = publication_key(con, campaign)
    return MerchantView(once("campaign-merchant-view", key, lambda: merchant_figures(campaign_report(con, campaign))))
