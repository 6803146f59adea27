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
from pipelines.privacy import K_MIN
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
        return out | {"shown": False, "why": "the holdout was not drawn as declared"}
    e = report.ntd
    if not report.enough_buyers or e["effect"] is None:
        return out | {"shown": False, "why": f"fewer than {K_MIN} members of an arm bought at the offer's outlets"}
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

    def reading(self) -> list[str]:
        f = self.figures
        if not f["shown"]:
            reason = {
                "the holdout was not drawn as declared": "the checks found that the holdout was not drawn at "
                "random as declared, so no effect can be measured from it",
            }.get(f["why"], f"{f['why']}: the effect cannot be shown without describing those few people")
            return [
                f"**No figures for this campaign:** {reason}. A larger audience or holdout makes an offer reportable."
            ]
        lo, hi = f["ntd_lower"], f["ntd_upper"]
        if lo > 0:
            verdict = (
                f"**It worked.** Members sent the offer spent about NT${f['ntd_effect']:,.0f} more each at your "
                f"outlets during the campaign than members held out (between NT${lo:,.0f} and NT${hi:,.0f}, 95 % "
                "interval)."
            )
        elif hi < 0:
            verdict = (
                f"**It backfired.** Members sent the offer spent about NT${-f['ntd_effect']:,.0f} less each at your "
                f"outlets than members held out (between NT${-hi:,.0f} and NT${-lo:,.0f} less, 95 % interval)."
            )
        else:
            verdict = (
                f"**No effect could be shown.** The difference, about NT${f['ntd_effect']:,.0f} per member, is "
                f"within what chance gives (between NT${lo:,.0f} and NT${hi:,.0f}); this campaign could only "
                f"have detected an effect of about NT${f['ntd_detectable']:,.0f} per member or more."
            )
        out = [
            verdict,
            f"The share of members who bought at your outlets changed by {f['bought_points']:+.0f} points "
            f"(between {f['bought_lower']:+.0f} and {f['bought_upper']:+.0f}).",
        ]
        if "per_cost" in f:
            out.append(
                f"Each NT$ the offer cost you brought about NT${f['per_cost']:.1f} of extra spending "
                f"(between {f['per_cost_lower']:.1f} and {f['per_cost_upper']:.1f})."
            )
        return out

    def table(self) -> pl.DataFrame:
        f = self.figures
        rows = [
            ("NT$ spent per member", f["ntd_effect"], f["ntd_lower"], f["ntd_upper"]),
            ("share who bought (points)", f["bought_points"], f["bought_lower"], f["bought_upper"]),
        ]
        if "per_cost" in f:
            rows.append(("NT$ brought per NT$ of offer", f["per_cost"], f["per_cost_lower"], f["per_cost_upper"]))
        return pl.DataFrame(rows, schema=["what changed", "about", "from", "to"], orient="row")


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
