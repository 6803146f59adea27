"""One merchant's customer profile for one month, from the merchant marts, with every figure
passed through the disclosure rules of `pipelines.privacy` before anything can display it.

The merchant is an outlet (S0000001) or a chain brand (B0001, all its outlets together).
Peers are other outlets of the same category (for a chain: other chains of its category) in
the same district, in districts whose centres lie within NEARBY_KM, or anywhere in the city.
The default scope, auto, takes the narrowest of those with at least PEER_MIN_MERCHANTS peers
(for a chain, whose outlets spread over the city: the city). It looks only at how many peers
each scope holds, which anyone could count on a map, so that a wider scope being chosen says
nothing about any competitor's revenue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb
import polars as pl

from pipelines import catalog, privacy

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
PEER_SCOPES = ("auto", "district", "nearby", "city")
NEARBY_KM = 5.0


@dataclass
class Profile:
    unit: dict  # level, unit_id, unit_name, category, district_id
    month: str
    k: int
    totals: dict  # customers, transactions, revenue_ntd, average_ticket_ntd (internal until checked)
    cells: pl.DataFrame
    peer_scope: str  # the scope used: auto resolved to district, nearby or city
    peer_units: list[str] = field(default_factory=list)
    peer_cells: pl.DataFrame | None = None
    peer_totals: pl.DataFrame | None = None

    @property
    def enough_customers(self) -> bool:
        return self.totals.get("customers", 0) >= self.k

    def headline(self) -> dict:
        if not self.enough_customers:
            raise privacy.PrivacyError("not enough customers to report")
        return {key: self.totals[key] for key in ("customers", "transactions", "revenue_ntd", "average_ticket_ntd")}

    def table(self, dimension: str) -> pl.DataFrame:
        """One distribution with shares, small cells and their complements suppressed."""
        return _shown(self.cells, dimension, self.k, self.totals) if self.enough_customers else _nothing()

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
        return _shown(pooled, dimension, self.k, totals)

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


def _shown(cells: pl.DataFrame, dimension: str, k: int, totals: dict) -> pl.DataFrame:
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; known: {', '.join(DIMENSIONS)}")
    _, base, additive = DIMENSIONS[dimension]
    rows = cells.filter(pl.col("dimension") == dimension).sort("value")
    rows = rows.select(
        "value",
        "customers",
        (100 * pl.col(base) / totals[base]).round(1).alias("share_pct"),
    )
    return privacy.release(privacy.suppress(rows, k, additive=additive))


def profile(
    con: duckdb.DuckDBPyConnection,
    merchant: str,
    month: str = "",
    k: int = privacy.DEFAULT_K,
    peer_scope: str = "auto",
) -> Profile:
    """Check the parameters and gather one merchant's figures (bound parameters only)."""
    privacy.check_unit(merchant)
    if peer_scope not in PEER_SCOPES:
        raise ValueError(f"peer scope must be one of {', '.join(PEER_SCOPES)}, got {peer_scope!r}")
    privacy.check_k(k)
    level = "chain" if merchant.startswith("B") else "outlet"
    known = catalog.frame(
        con,
        "SELECT DISTINCT unit_name, category, district_id FROM merchant_month WHERE level = ? AND unit_id = ?",
        [level, merchant],
    )
    exists = catalog.frame(
        con, "SELECT count(*) AS n FROM merchants WHERE merchant_id = ? OR brand_id = ?", [merchant, merchant]
    )["n"][0]
    if not exists:
        raise ValueError(f"unknown merchant {merchant!r}")
    months = catalog.frame(con, "SELECT DISTINCT strftime(month, '%Y-%m') AS m FROM merchant_month ORDER BY m")["m"]
    if not month:
        whole = set(catalog.whole_months(con))
        month = ([m for m in months if m in whole] or months.to_list())[-1]
    if month not in months.to_list():
        raise ValueError(f"month must be one of {months[0]} .. {months[-1]} (YYYY-MM), got {month!r}")
    unit = {"level": level, "unit_id": merchant, **(known.row(0, named=True) if known.height else {})}
    where = "level = ? AND unit_id = ? AND strftime(month, '%Y-%m') = ?"
    totals = catalog.frame(con, f"SELECT * FROM merchant_month WHERE {where}", [level, merchant, month])
    cells = catalog.frame(con, f"SELECT * FROM merchant_cells WHERE {where}", [level, merchant, month])
    result = Profile(unit, month, k, totals.row(0, named=True) if totals.height else {}, cells, peer_scope)
    if totals.height:
        _add_peers(con, result)
    return result


def _peer_districts(districts: pl.DataFrame, district_id: str, scope: str) -> list[str]:
    if scope == "city":
        return districts["district_id"].to_list()
    if scope == "district":
        return [district_id]
    home = districts.filter(pl.col("district_id") == district_id).row(0, named=True)
    return [d["district_id"] for d in districts.iter_rows(named=True) if _km(home, d) <= NEARBY_KM]


def _km(a: dict, b: dict) -> float:
    """Great-circle distance between two points given by lon/lat in degrees."""
    la1, la2, dlon = math.radians(a["lat"]), math.radians(b["lat"]), math.radians(b["lon"] - a["lon"])
    c = math.sin(la1) * math.sin(la2) + math.cos(la1) * math.cos(la2) * math.cos(dlon)
    return 6371.0 * math.acos(max(-1.0, min(1.0, c)))


def _add_peers(con: duckdb.DuckDBPyConnection, p: Profile) -> None:
    if p.peer_scope != "auto":
        scopes: tuple[str, ...] = (p.peer_scope,)
    else:
        scopes = ("city",) if p.unit["level"] == "chain" else ("district", "nearby", "city")
    # Every candidate once: other units of the merchant's level and category that month,
    # less an outlet's own chain; each scope then keeps those in its districts.
    candidates = catalog.frame(
        con,
        "SELECT unit_id, district_id, customers, transactions, revenue_ntd FROM merchant_month "
        "WHERE level = ? AND unit_id <> ? AND category = ? AND strftime(month, '%Y-%m') = ? "
        "AND unit_id NOT IN (SELECT merchant_id FROM merchants "
        "WHERE brand_id = (SELECT brand_id FROM merchants WHERE merchant_id = ?)) ORDER BY unit_id",
        [p.unit["level"], p.unit["unit_id"], p.unit["category"], p.month, p.unit["unit_id"]],
    )
    districts = catalog.frame(con, "SELECT district_id, lon, lat FROM districts ORDER BY district_id")
    for scope in scopes:
        in_scope = _peer_districts(districts, p.unit["district_id"], scope)
        peers = candidates.filter(pl.col("district_id").is_in(in_scope)).drop("district_id")
        if peers.height >= privacy.PEER_MIN_MERCHANTS:
            break
    p.peer_scope = scope
    p.peer_units = peers["unit_id"].to_list()
    p.peer_totals = peers
    p.peer_cells = catalog.frame(
        con,
        "SELECT dimension, value, customers, transactions FROM merchant_cells "
        "WHERE level = ? AND list_contains(?, unit_id) AND strftime(month, '%Y-%m') = ?",
        [p.unit["level"], p.peer_units, p.month],
    )
