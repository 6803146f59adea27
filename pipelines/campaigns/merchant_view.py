"""What the merchant who paid for an offer is told about it: a few coarse figures, published once.

The merchant knows its own till (every purchase at its outlets, and which redeemed the offer)
but not who was in the audience or the holdout. Figures about the arms (their sizes, buyers,
spending per member before or during) would let it divide its till's totals into small
groups' spending, so the merchant's view shows none of them: only the effect per member in
NT$ and in the share who bought, with their intervals, the smallest detectable effect and the
NT$ brought per NT$ of offer, each rounded to a coarse step (the verdict is read from the
unrounded interval). It shows them only when each arm has at least K_MIN buyers, never after a
draw the checks flag, and only once the campaign is over inside the snapshot. The first
publication is kept (pipelines/privacy/published.py) under the campaign and its owner: a run
after a refund or any correction, of the purchases or of the campaign's own row, shows the same
figures, so two versions cannot be subtracted to read one member's purchases.
"""

from __future__ import annotations

import datetime as dt
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
#: NT$ per NT$ of offer. The last is coarse: with the offer's cost, which the merchant knows,
#: a finer ratio would give away the size of the treatment arm.
NTD_STEP, POINT_STEP, RATIO_STEP = 10, 1, 0.5
_CAMPAIGN = ("campaign_id", "campaign_name", "owner_kind", "owner_id", "start_date", "end_date", "offer_value")


def _round(x: float, step: float) -> float:
    """To the nearest step; whole steps as integers, so that nothing shows 30.0 or 0.30000000000000004."""
    value = round(round(x / step) * step, 10)
    return int(value) if float(value).is_integer() else value


def verdict(low: float, high: float) -> str:
    """What the unrounded interval says: worked, backfired, or no effect told from chance."""
    return "worked" if low > 0 else "backfired" if high < 0 else "no_effect"


def merchant_figures(report: CampaignReport, data_end: dt.date) -> dict[str, Any]:
    """The merchant's figures of a campaign, or why there are none (pure: no I/O). A campaign
    that runs past `data_end`, the last day of the data, has none yet."""
    c = report.campaign
    out: dict[str, Any] = {k: (str(c[k]) if k.endswith("_date") else c[k]) for k in _CAMPAIGN}
    out["holdout_share"] = c["holdout_share"]
    if c["kind"] != "merchant_offer":
        raise ValueError(f"campaign {c['campaign_id']} is the operator's subsidy: it has no merchant's view")
    if c["end_date"] > data_end:
        raise ValueError(
            f"campaign {c['campaign_id']} runs until {c['end_date']}, after the data ({data_end}): its effect "
            "is published to the merchant once the campaign is over"
        )
    if not (report.sample_ratio_ok and report.balanced):
        return out | {"shown": False, "why": "draw"}
    e = report.ntd
    if not report.enough_buyers or e["effect"] is None:
        return out | {"shown": False, "why": "few_buyers"}
    bought = report.effects.filter(pl.col("metric") == "buyers").row(0, named=True)
    figures = {
        "shown": True,
        "verdict": verdict(e["ci_lower"], e["ci_upper"]),
        "ntd_effect": _round(e["effect"], NTD_STEP),
        "ntd_lower": _round(e["ci_lower"], NTD_STEP),
        "ntd_upper": _round(e["ci_upper"], NTD_STEP),
        "ntd_detectable": _round(math.ceil(e["mde"] / NTD_STEP) * NTD_STEP, NTD_STEP),
        "bought_points": _round(100 * bought["effect"], POINT_STEP),
        "bought_lower": _round(100 * bought["ci_lower"], POINT_STEP),
        "bought_upper": _round(100 * bought["ci_upper"], POINT_STEP),
    }
    if c["ntd_per_cost"] is not None:
        figures |= {
            "per_cost": _round(c["ntd_per_cost"], RATIO_STEP),
            "per_cost_lower": _round(c["ntd_per_cost_lower"], RATIO_STEP),
            "per_cost_upper": _round(c["ntd_per_cost_upper"], RATIO_STEP),
        }
    return out | figures


@dataclass(frozen=True)
class MerchantView:
    figures: dict[str, Any]  # as first published


def publication_key(con: duckdb.DuckDBPyConnection, campaign: str) -> str:
    """The campaign and whose offer it is: the same in a later snapshot and after any correction
    of the campaign's row (a name, a date), so nothing buys a second publication; another
    campaign with the same ID (in another SYNTHETIC world, for another owner) has another key."""
    row = catalog.frame(con, "SELECT kind, owner_kind, owner_id FROM campaigns WHERE campaign_id = ?", [campaign])
    if row.height != 1:
        raise ValueError(f"campaign {campaign!r} is not in this snapshot")
    digest = hashlib.sha256(json.dumps(row.row(0, named=True), sort_keys=True).encode())
    return f"{campaign}-{digest.hexdigest()[:16]}"


def merchant_view(con: duckdb.DuckDBPyConnection, campaign: str, data_end: dt.date) -> MerchantView:
    """The merchant's view of a campaign: as first published, or worked out and kept now."""
    key = publication_key(con, campaign)
    return MerchantView(
        once("campaign-merchant-view", key, lambda: merchant_figures(campaign_report(con, campaign), data_end))
    )
