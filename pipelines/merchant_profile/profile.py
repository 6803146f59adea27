"""One merchant's customer profile for one month, from the merchant marts, with every figure
passed through the disclosure rules of `pipelines.privacy` before anything can display it.

The merchant is an outlet (S0000001) or a chain brand (B0001, all its outlets together);
its peers are found by pipelines/merchant_profile/peers.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import polars as pl

from pipelines import privacy
from pipelines.core import catalog
from pipelines.core.snapshot import Snapshot
from pipelines.core.sql import SqlFolder
from pipelines.merchant_profile.peers import check_scope, find_peers

SQL = SqlFolder.beside(__file__)

#: dimension -> (title, whose counts the shares are of, cells add up to the headline total)
DIMENSIONS: dict[str, tuple[str, str, bool]] = {
    "customer_type": ("New and returning customers", "customers", True),
    "visit_frequency": ("Visits per customer in the month", "customers", True),
    "age_band": ("Age band", "customers", True),
    "gender": ("Gender", "customers", True),
    "home_district": ("Home district", "customers", True),
    "segment": ("RFM segment at the month end", "customers", True),
    "hour_of_week": ("Transactions by day of week (1 = Monday) and hour", "transactions", True),
    "cross_category": ("Customers who also bought in each category elsewhere", "customers", False),
}


@dataclass
class Profile:
    unit: dict  # level, unit_id, unit_name, category, district_id
    month: str
    totals: dict  # customers, transactions, revenue_ntd, average_ticket_ntd (internal until checked)
    cells: pl.DataFrame
    peer_scope: str  # the scope used: auto resolved to district, nearby or city
    peer_units: list[str] = field(default_factory=list)
    peer_cells: pl.DataFrame | None = None
    peer_totals: pl.DataFrame | None = None

    @property
    def enough_customers(self) -> bool:
        return self.totals.get("customers", 0) >= privacy.K_MIN

    def headline(self) -> dict:
        if not self.enough_customers:
            raise privacy.PrivacyError("not enough customers to report")
        return {key: self.totals[key] for key in ("customers", "transactions", "revenue_ntd", "average_ticket_ntd")}

    def table(self, dimension: str) -> pl.DataFrame:
        """One distribution with shares, small cells and their complements suppressed."""
        return _shown(self.cells, dimension, self.totals) if self.enough_customers else _nothing()

    @property
    def peers(self) -> tuple[bool, str]:
        """Whether the peer benchmark may be shown, and why not."""
        if self.peer_totals is None or not self.enough_customers:
            return False, "no peer group"
        return privacy.peer_status(self.peer_totals["revenue_ntd"].to_list())

    def peer_headline(self) -> dict:
        if not self.peers[0]:
            raise privacy.PrivacyError(self.peers[1])
        t = self.peer_totals
        return {
            "merchants": t.height,
            "median_customers": float(t["customers"].median()),
            "average_ticket_ntd": round(int(t["revenue_ntd"].sum()) / int(t["transactions"].sum()), 1),
        }

    def peer_table(self, dimension: str) -> pl.DataFrame:
        """The peer group's pooled distribution (customers counted once per merchant visited)."""
        if not self.peers[0]:
            return _nothing()
        pooled = self.peer_cells.group_by("dimension", "value").agg(pl.col("customers", "transactions").sum())
        totals = {
            "customers": int(self.peer_totals["customers"].sum()),
            "transactions": int(self.peer_totals["transactions"].sum()),
        }
        return _shown(pooled, dimension, totals)

    def compared(self, dimension: str) -> pl.DataFrame:
        """This merchant's shares next to its peers' (peer share null when peers are not shown)."""
        own = self.table(dimension).select("value", "share_pct")
        peer = self.peer_table(dimension)
        if peer.height == 0:
            return own.with_columns(pl.lit(None, pl.Float64).alias("peer_share_pct"))
        peer = peer.select("value", pl.col("share_pct").alias("peer_share_pct"))
        return own.join(peer, on="value", how="full", coalesce=True).sort("value")

    def readings(self) -> list[str]:
        """Plain-words notes on what stands out (only from figures that may be shown)."""
        if not self.enough_customers:
            return []
        notes = []
        for dimension in ("customer_type", "age_band", "gender", "visit_frequency"):
            both = self.compared(dimension).drop_nulls(["share_pct"])
            if both.height == 0:
                continue
            # Ties go to the first value in order, so the reading is the same on every run.
            top = both.sort("share_pct", "value", descending=[True, False]).row(0, named=True)
            text = f"{DIMENSIONS[dimension][0]}: the largest group is {top['value']} ({top['share_pct']:.0f}%"
            if top["peer_share_pct"] is not None:
                gap = top["share_pct"] - top["peer_share_pct"]
                text += f"; peers {top['peer_share_pct']:.0f}%, {'+' if gap >= 0 else ''}{gap:.0f} points"
            notes.append(text + ").")
        hours = self.table("hour_of_week").drop_nulls(["share_pct"])
        if hours.height:
            busiest = hours.sort("share_pct", "value", descending=[True, False]).row(0, named=True)
            day, hour = busiest["value"].split("-")
            notes.append(
                f"Busiest hour of the week: day {day} (1 = Monday) at {hour}:00, "
                f"{busiest['share_pct']:.1f}% of transactions."
            )
        return notes


def _nothing() -> pl.DataFrame:
    return pl.DataFrame(schema={"value": pl.String, "customers": pl.Int64, "share_pct": pl.Float64})


def _shown(cells: pl.DataFrame, dimension: str, totals: dict) -> pl.DataFrame:
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; known: {', '.join(DIMENSIONS)}")
    _, base, additive = DIMENSIONS[dimension]
    rows = cells.filter(pl.col("dimension") == dimension).sort("value")
    rows = rows.select(
        "value",
        "customers",
        (100 * pl.col(base) / totals[base]).round(1).alias("share_pct"),
    )
    return privacy.release(privacy.suppress(rows, additive=additive))


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
    merchant: str,
    month: str = "",
    peer_scope: str = "auto",
    whole_months: Sequence[str] = (),
) -> Profile:
    """Check the parameters and gather one merchant's figures (bound parameters only). The
    default month is the latest of `whole_months` (the snapshot's) that the marts hold."""
    privacy.check_unit(merchant)
    check_scope(peer_scope)
    level = "chain" if merchant.startswith("B") else "outlet"
    unit_row = catalog.frame(con, SQL.load("rpt_merchant_unit"), {"level": level, "unit_id": merchant}).row(
        0, named=True
    )
    if not unit_row.pop("known"):
        raise ValueError(f"unknown merchant {merchant!r}")
    months = catalog.frame(con, SQL.load("rpt_merchant_months"))["month"].to_list()
    if not month:
        month = ([m for m in months if m in set(whole_months)] or months)[-1]
    if month not in months:
        raise ValueError(f"month must be one of {months[0]} .. {months[-1]} (YYYY-MM), got {month!r}")
    unit = {"level": level, "unit_id": merchant, **(unit_row if unit_row["unit_name"] is not None else {})}
    args = {"level": level, "unit_id": merchant, "month": month}
    totals = catalog.frame(con, SQL.load("rpt_merchant_totals"), args)
    cells = _cells(con, level, [merchant], month)
    result = Profile(unit, month, totals.row(0, named=True) if totals.height else {}, cells, peer_scope)
    if totals.height:
        result.peer_scope, result.peer_totals = find_peers(con, unit, month, peer_scope)
        result.peer_units = result.peer_totals["unit_id"].to_list()
        result.peer_cells = _cells(con, level, result.peer_units, month)
    return result


def _cells(con: duckdb.DuckDBPyConnection, level: str, units: list[str], month: str) -> pl.DataFrame:
    args = {"level": level, "unit_ids": units, "month": month}
    return catalog.frame(con, SQL.load("rpt_merchant_cells"), args).drop("unit_id")
