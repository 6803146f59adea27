"""One merchant's customer profile for one month, as its release publishes it
(pipelines/merchant_profile/release.py): every count is noisy, shares are worked out from the
noisy counts, and what counts fewer than K_MIN customers after the noise is not shown. This
module never sees an exact figure about customers.

The merchant is an outlet (S0000001) or a chain brand (B0001, all its outlets together);
its peers are found by pipelines/merchant_profile/peers.py.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from pipelines import privacy
from pipelines.core.snapshot import Snapshot
from pipelines.merchant_profile.peers import check_scope
from pipelines.merchant_profile.release import (
    HEADLINE,
    ReleaseFigures,
    default_merchant,
    profile_month,
    report_release,
    report_units,
    unit_of,
)
from pipelines.privacy.release import Release

#: dimension -> title. Each customer is in one cell of a dimension (hours: up to max_hours).
DIMENSIONS: dict[str, str] = {
    "customer_type": "New and returning customers",
    "visit_frequency": "Visits per customer in the month",
    "age_band": "Age band",
    "gender": "Gender",
    "home_district": "Home district",
    "segment": "RFM segment at the month end",
    "hour_of_week": "Customers by day of week (1 = Monday) and hour",
    "cross_category": "Where else customers spent most, by category",
}


#: Parts of the day, each from its first hour: the coarser grid where hour cells are too small.
PARTS_OF_DAY = (("night", 0), ("morning", 6), ("midday", 11), ("afternoon", 14), ("evening", 17), ("late", 21))
#: The share of customers' hours the shown hour cells must hold for the hour grid to be used.
SHOWN_ENOUGH = 0.8
#: The widest 95 % margin, in percentage points, a shown share may have: a share of a half
#: then reads as 35-65 %. Wider, a small shop's shares of one question could add up to 160 %,
#: and a gap to the peers would be the noise's.
SHARE_MARGIN_MAX_POINTS = 15.0


@dataclass
class Profile:
    """What a release publishes about one merchant unit and month (noisy, never exact)."""

    unit: dict  # level, unit_id, unit_name, category, district_id
    month: str
    totals: dict  # noisy customers, transactions, revenue_ntd, and average_ticket_ntd
    cells: pl.DataFrame  # dimension, value, noisy customers
    peer_scope: str  # the scope used: auto resolved to district, nearby or city
    release: Release | None = None
    peer_units: list[str] = field(default_factory=list)
    peer_cells: pl.DataFrame | None = None  # the peers' noisy cells, pooled
    peer_totals: pl.DataFrame | None = None  # one noisy headline row per peer

    @property
    def enough_customers(self) -> bool:
        return self.totals.get("customers", 0) >= privacy.K_MIN

    def headline(self) -> dict:
        """The noisy headline; a figure too uncertain to read (see `privacy.readable`) is None, and so
        is the average ticket unless both its parts can be read."""
        if not self.enough_customers:
            raise privacy.PrivacyError("not enough customers to report")
        margins = self.margins()
        shown = {key: privacy.readable(self.totals[key], margins.get(key, 0)) for key in HEADLINE}
        out = {key: self.totals[key] if shown[key] else None for key in HEADLINE}
        both = out["transactions"] is not None and out["revenue_ntd"] is not None
        out["average_ticket_ntd"] = self.totals["average_ticket_ntd"] if both else None
        return out

    def margins(self) -> dict[str, float]:
        """Half the width of the 95 % interval of each headline figure, and of a share (points)."""
        if self.release is None:
            return {}
        out = {key: self.release.margin(key) for key in HEADLINE}
        out["share_pct"] = 100 * self.release.margin("customers") / max(self.totals["customers"], 1)
        return out

    @property
    def customers_readable(self) -> bool:
        """Whether the headline's noisy customers can be read (`privacy.readable`)."""
        return privacy.readable(self.totals.get("customers", 0), self.margins().get("customers", 0))

    @property
    def shares_readable(self) -> bool:
        """Whether this unit's shares may be shown: its customers can be read (shares of a
        hidden total would give it away) and a share's margin is at most
        `SHARE_MARGIN_MAX_POINTS`. Decided from released figures only."""
        share_margin = self.margins().get("share_pct", 0.0)
        return self.enough_customers and self.customers_readable and share_margin <= SHARE_MARGIN_MAX_POINTS

    def table(self, dimension: str) -> pl.DataFrame:
        """One distribution: each cell's noisy count as a share of the noisy customers the
        headline shows, cells under K_MIN left empty; nothing unless `shares_readable`."""
        if not self.shares_readable:
            return _nothing()
        return _shown(self.cells, dimension, self.totals["customers"])

    @property
    def peers(self) -> tuple[bool, str]:
        """Whether the peer benchmark may be shown, and why not."""
        if self.peer_totals is None or not self.enough_customers:
            return False, "no peer group"
        # Customers, not NT$: their noise is the smallest of the headline's, so the rule judges
        # the peers, not the noise.
        return privacy.peer_status(self.peer_totals["customers"].to_list(), "customers")

    def peer_headline(self) -> dict:
        if not self.peers[0]:
            raise privacy.PrivacyError(self.peers[1])
        t = self.peer_totals
        transactions, revenue = int(t["transactions"].sum()), int(t["revenue_ntd"].sum())
        pooled = t.height**0.5  # the noise of a sum of independent noisy figures
        readable = self.release is None or all(
            privacy.readable(total, pooled * self.release.margin(key))
            for key, total in (("transactions", transactions), ("revenue_ntd", revenue))
        )
        return {
            "merchants": t.height,
            # The median of noisy counts: never one peer's exact figure.
            "median_customers": float(statistics.median(t["customers"].to_list())),
            "average_ticket_ntd": round(revenue / transactions, 1) if transactions and readable else None,
        }

    def peer_table(self, dimension: str) -> pl.DataFrame:
        """The peer group's pooled distribution (customers counted once per merchant visited)."""
        if not self.peers[0]:
            return _nothing()
        # Of the pooled cells' sum, not of the peers' customers: twelve small shops' empty cells,
        # each noisy and never below zero, would add up to shares far over 100 %. The pooled
        # cells are sums over several merchants, none of them the reader's.
        return _shown(self.peer_cells, dimension, None)

    def compared(self, dimension: str) -> pl.DataFrame:
        """This merchant's shares next to its peers' (peer share null when peers are not shown)."""
        own = self.table(dimension).select("value", "share_pct")
        peer = self.peer_table(dimension)
        if peer.height == 0:
            both = own.with_columns(pl.lit(None, pl.Float64).alias("peer_share_pct"))
        else:
            peer = peer.select("value", pl.col("share_pct").alias("peer_share_pct"))
            both = own.join(peer, on="value", how="full", coalesce=True).sort("value")
        # A value empty on both sides (fewer than K_MIN everywhere) says nothing: left out.
        return both.filter(pl.col("share_pct").is_not_null() | pl.col("peer_share_pct").is_not_null())

    def stand_outs(self, min_points: float = 10.0) -> list[dict]:
        """Where this merchant's customers differ from its peers' by enough to matter: at least
        `min_points` percentage points and more than a share's own 95 % margin, largest first.
        Empty when nothing differs that much (or there are no peers to compare with)."""
        if not self.enough_customers or not self.peers[0]:
            return []
        enough = max(min_points, self.margins().get("share_pct", 0.0))
        found = [
            {"dimension": dimension, **row, "gap": row["share_pct"] - row["peer_share_pct"]}
            for dimension in ("customer_type", "age_band", "gender", "visit_frequency", "segment")
            for row in self.compared(dimension).drop_nulls().iter_rows(named=True)
        ]
        # Ties in order of dimension and value, so the reading is the same on every run.
        return sorted((f for f in found if abs(f["gap"]) >= enough), key=lambda f: -abs(f["gap"]))

    def week_grid(self) -> tuple[str, pl.DataFrame]:
        """Customers' hours by day of the week (1 = Monday) and hour, or, when the hour cells
        that may be shown hold less than `SHOWN_ENOUGH` of the hours, by day and part of the
        day: sums of the release's noisy hour cells (post-processing: nothing new is
        released), each again left empty under K_MIN; nothing unless `shares_readable`, as
        its shares are no surer than the tables'. Returns the grain ("hour" or "part_of_day")
        and day, slot, customers, share_pct (of the hours shown)."""
        if not self.shares_readable:
            return "hour", _nothing().select(pl.lit(0).alias("day"), pl.lit("").alias("slot"), "customers", "share_pct")
        hours = self.cells.filter(pl.col("dimension") == "hour_of_week").select(
            pl.col("value").str.slice(0, 1).cast(pl.Int32).alias("day"),
            pl.col("value").str.slice(2, 2).alias("slot"),
            "customers",
        )
        total = max(int(hours["customers"].sum()), 1)
        shown = int(hours.filter(pl.col("customers") >= privacy.K_MIN)["customers"].sum())
        grain = "hour"
        if shown < SHOWN_ENOUGH * total:
            grain = "part_of_day"
            part = {f"{h:02d}": next(p for p, start in reversed(PARTS_OF_DAY) if h >= start) for h in range(24)}
            hours = (
                hours.with_columns(pl.col("slot").replace_strict(part))
                .group_by("day", "slot")
                .agg(pl.col("customers").sum())
            )
        # Shares of the hours shown, as in every table (_shown).
        base = max(int(hours.filter(pl.col("customers") >= privacy.K_MIN)["customers"].sum()), 1)
        grid = hours.with_columns((100 * pl.col("customers") / base).round(1).alias("share_pct")).sort("day", "slot")
        suppressed = privacy.suppress(grid, additive=False, figures=["customers", "share_pct"], noisy=True)
        return grain, suppressed.select("day", "slot", "customers", "share_pct")


def _nothing() -> pl.DataFrame:
    return pl.DataFrame(schema={"value": pl.String, "customers": pl.Int64, "share_pct": pl.Float64})


def _shown(cells: pl.DataFrame, dimension: str, customers: int | None) -> pl.DataFrame:
    """The dimension's cells with shares of `customers` (None: of the cells' sum), cells under
    K_MIN left empty."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; known: {', '.join(DIMENSIONS)}")
    rows = cells.filter(pl.col("dimension") == dimension).sort("value")
    # Shares of a published total, never of the cells' sum: with shares to 0.1 % and the
    # cells as integers, a sum that held the hidden cells would let their counts be solved for.
    base = pl.max_horizontal(pl.col("customers").sum(), 1) if customers is None else pl.lit(max(customers, 1))
    rows = rows.select("value", "customers", (100 * pl.col("customers") / base).round(1).alias("share_pct"))
    return privacy.no_identifiers(privacy.suppress(rows, noisy=True))


def check_params(con: duckdb.DuckDBPyConnection, snap: Snapshot, params: dict) -> None:
    """The merchant report's parameters, before it runs (the merchant's existence is checked
    with every other report's names by the batch)."""
    if params["merchant"]:
        privacy.check_unit(params["merchant"])
    check_scope(params["peer_scope"])
    months = [f"{m:%Y-%m}" for m in snap.months()["month"]]
    if params["period"] and params["period"] not in months:
        raise ValueError(f"period must be one of {months[0]} .. {months[-1]} (YYYY-MM), got {params['period']!r}")


def profile(
    con: duckdb.DuckDBPyConnection,
    snap: Snapshot,
    merchant: str = "",
    month: str = "",
    peer_scope: str = "auto",
    release: str = "",
) -> Profile:
    """One merchant's profile (default: the first subscriber; the latest whole month) as its
    release publishes it: the batch's release by ID, or, run on its own, a release of its own."""
    merchant = merchant or default_merchant(con)
    unit = unit_of(con, merchant)  # an unknown merchant is named before any other error
    month = profile_month(con, month, snap.whole_months())
    params: dict[str, Any] = {"merchant": merchant, "period": month, "peer_scope": peer_scope}
    return profile_of(con, report_release(con, snap, params, release), merchant, month, peer_scope, unit)


def profile_of(
    con: duckdb.DuckDBPyConnection,
    figures: ReleaseFigures,
    merchant: str,
    month: str,
    peer_scope: str = "auto",
    unit: dict[str, Any] | None = None,
) -> Profile:
    """A merchant's profile for a month from a release's figures (which must hold its peers);
    `unit`: the merchant as unit_of gives it, if already looked up."""
    unit = unit or unit_of(con, merchant)
    scope, units = report_units(con, unit, peer_scope)
    cells = figures.cells_of(units, month)
    own = cells.filter(pl.col("unit_id") == merchant).drop("unit_id", "month")
    result = Profile(unit, month, _with_ticket(figures.head(merchant, month)), own, scope, figures.release)
    if result.enough_customers:
        result.peer_units = units[1:]
        result.peer_totals = pl.DataFrame(
            [{"unit_id": u, **figures.head(u, month)} for u in result.peer_units],
            schema={"unit_id": pl.String, **dict.fromkeys(HEADLINE, pl.Int64)},
        )
        pooled = cells.filter(pl.col("unit_id").is_in(result.peer_units))
        if pooled.height:
            result.peer_cells = pooled.group_by("dimension", "value").agg(pl.col("customers").sum())
    return result


def _with_ticket(head: dict[str, int]) -> dict[str, Any]:
    ticket = round(head["revenue_ntd"] / head["transactions"], 1) if head["transactions"] else None
    return {**head, "average_ticket_ntd": ticket}
