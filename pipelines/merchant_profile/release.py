"""A merchant release: the noisy figures that the merchant reports of one batch (or one report
run on its own) publish, computed once, when the release opens.

1. Its units: each report's merchant and that merchant's peer group (peers.py), in the
   report's month.
2. The privacy ledger is charged (pipelines/privacy/ledger.py); a release that would exceed
   the year's budget is refused before anything is computed.
3. Each customer counts in at most max_units of the release's units (rpt_release_rows.sql),
   with visits, NT$ and hours capped; the SQL of the exact marts aggregates them (marts.py).
4. Every headline figure and every cell of every distribution of every unit gets noise from
   the release's stream, empty cells included, so that a cell's presence says nothing.
5. The noisy figures are kept in data/privacy/releases/<release>/; the reports read them and
   nothing exact. The same units and months released again (by any batch, or a report run on
   its own) show the kept figures at no cost (pipelines/privacy/release.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from pipelines.core import catalog
from pipelines.core.schema import MERCHANT_CATEGORIES
from pipelines.core.snapshot import Snapshot
from pipelines.merchant_profile.marts import SQL, aggregate
from pipelines.merchant_profile.peers import check_scope, find_peers
from pipelines.merchant_profile.subscribers import subscribers
from pipelines.privacy import PrivacyError, check_unit
from pipelines.privacy.accounting import load_privacy
from pipelines.privacy.release import Release, keep, kept, kept_releases, open_release, recorded_release

HEADLINE = ("customers", "transactions", "revenue_ntd")
#: The distributions a profile shows, and the values they take whatever the data.
FIXED_VALUES: dict[str, list[str]] = {
    "customer_type": ["new", "no history", "returning"],
    "visit_frequency": ["1", "2", "3-4", "5+"],
    "age_band": ["14-19", "20-29", "30-39", "40-49", "50-64", "65+", "unknown", "unregistered"],
    "gender": ["F", "M", "unknown", "unregistered"],
    "hour_of_week": [f"{day}-{hour:02d}" for day in range(1, 8) for hour in range(24)],
    "cross_category": [*MERCHANT_CATEGORIES, "nothing elsewhere"],
}
DIMENSIONS = (
    "customer_type",
    "visit_frequency",
    "age_band",
    "gender",
    "home_district",
    "segment",
    "hour_of_week",
    "cross_category",
)


@dataclass(frozen=True)
class ReleaseFigures:
    """What a release publishes: noisy headline rows (level, unit_id, month YYYY-MM,
    customers, transactions, revenue_ntd) and noisy cells (unit_id, month, dimension, value,
    customers) of every unit it holds."""

    release: Release
    heads: pl.DataFrame
    cells: pl.DataFrame

    def head(self, unit_id: str, month: str) -> dict[str, int]:
        row = self.heads.filter((pl.col("unit_id") == unit_id) & (pl.col("month") == month))
        if row.height == 0:
            raise PrivacyError(f"release {self.release.id} holds nothing about {unit_id} in {month}")
        return {key: row[key][0] for key in HEADLINE}

    def cells_of(self, unit_ids: Sequence[str], month: str) -> pl.DataFrame:
        return self.cells.filter(pl.col("unit_id").is_in(list(unit_ids)) & (pl.col("month") == month))

    def holds(self, unit_ids: Sequence[str], month: str) -> bool:
        held = self.heads.filter(pl.col("month") == month)["unit_id"]
        return set(unit_ids) <= set(held)

    def frames(self) -> dict[str, pl.DataFrame]:
        return {"heads": self.heads, "cells": self.cells}


def unit_of(con: duckdb.DuckDBPyConnection, merchant: str) -> dict[str, Any]:
    """A merchant as the register knows it: level, unit_id, unit_name, category, district_id."""
    check_unit(merchant)
    level = "chain" if merchant.startswith("B") else "outlet"
    found = catalog.frame(con, SQL.load("rpt_merchant_unit"), {"level": level, "unit_id": merchant})
    if found.height == 0:
        raise ValueError(f"unknown merchant {merchant!r}")
    return {"level": level, "unit_id": merchant, **found.row(0, named=True)}


def default_merchant(con: duckdb.DuckDBPyConnection) -> str:
    """The merchant a report describes when none is named: the first subscriber the register
    holds, else the register's first outlet. Never "the largest": that would be a choice made
    on customers' purchases, published with the report."""
    return catalog.frame(con, SQL.load("rpt_default_merchant"), {"subscribers": subscribers()})["unit_id"][0]


def profile_month(con: duckdb.DuckDBPyConnection, month: str = "", whole_months: Sequence[str] = ()) -> str:
    """The month a profile describes: `month` if the marts hold it, by default the latest of
    `whole_months` (the snapshot's) that they hold."""
    months = catalog.frame(con, SQL.load("rpt_merchant_months"))["month"].to_list()
    if not month:
        month = ([m for m in months if m in set(whole_months)] or months)[-1]
    if month not in months:
        raise ValueError(f"month must be one of {months[0]} .. {months[-1]} (YYYY-MM), got {month!r}")
    return month


def report_units(con: duckdb.DuckDBPyConnection, unit: dict[str, Any], peer_scope: str) -> tuple[str, list[str]]:
    """The peer scope a report on `unit` (as unit_of gives it) uses, auto resolved, and its
    units: the merchant, then its peers."""
    scope, peers = find_peers(con, unit, check_scope(peer_scope))
    return scope, [unit["unit_id"], *peers]


def release_items(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, reports: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """Every (unit, month) that the reports (their parameters) publish figures about."""
    items = set()
    for params in reports:
        merchant = params["merchant"] or default_merchant(con)
        month = profile_month(con, params["period"], snap.whole_months())
        units = report_units(con, unit_of(con, merchant), params["peer_scope"])[1]
        items.update((unit, month) for unit in units)
    return sorted(items)


def batch_release(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, batch: str, reports: list[dict[str, Any]], new: bool = False
) -> str:
    """Open the release of a batch's merchant reports (charge the ledger, compute and keep its
    figures, unless the same units and months were released before) and return its ID, which
    each report gets as its parameter `release`. `new`: a new revision with fresh figures."""
    items = release_items(con, snap, reports)
    if not new and (held := _kept_holding(snap, items)):
        return held
    merchants = sorted({params["merchant"] or default_merchant(con) for params in reports})
    what = {"snapshot": snap.id, "batch": batch, "merchants": merchants}
    release = open_release(snap.manifest_sha256, "merchant", items, what, load_privacy().rho_per_release(), new)
    keep(release, lambda: compute(con, release, items).frames())
    return release.id


def report_release(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, params: dict[str, Any], release: str = ""
) -> ReleaseFigures:
    """The figures a report publishes: its batch's release (by ID); for a report run on its
    own, a kept release of the snapshot that holds its merchant and peers in its month (no new
    cost), else a release of its own, opened now."""
    if release:
        return load(recorded_release(release))
    return load(recorded_release(batch_release(con, snap, "single", [params])))


def _kept_holding(snap: Snapshot, items: list[tuple[str, str]]) -> str | None:
    """The newest kept release of the snapshot that holds every (unit, month) of `items`, if
    any: its figures are published already, so showing them again costs nothing and, unlike a
    release of its own, gives no second noisy draw of the same cells to average."""
    months: dict[str, list[str]] = {}
    for unit, month in items:
        months.setdefault(month, []).append(unit)
    for rid in kept_releases("merchant", snap.manifest_sha256):
        figures = load(recorded_release(rid))
        if all(figures.holds(units, month) for month, units in months.items()):
            return rid
    return None


def compute(con: duckdb.DuckDBPyConnection, release: Release, items: list[tuple[str, str]]) -> ReleaseFigures:
    """The release's noisy figures for `items` (unit, YYYY-MM)."""
    config = release.config
    units, months = zip(*items, strict=True) if items else ((), ())
    keys = catalog.frame(con, SQL.load("rpt_release_units"), {"unit_ids": list(units), "months": list(months)})
    caps = {"max_visits": config.max_visits, "max_spend_ntd": config.max_spend_ntd}
    try:
        con.register("release_units", keys.to_arrow())
        _temp(
            con, "release_rows", SQL.load("rpt_release_rows"), {"units": "release_units", "max_units": config.max_units}
        )
        hours = {"counted": "release_rows", "max_hours": config.max_hours}
        _temp(con, "release_hours", SQL.load("rpt_release_hours"), hours)
        aggregate(
            lambda name, sql, params, kept=True: _temp(con, name, sql, params),
            "release",
            "release_rows",
            "release_hours",
            caps,
        )
        month = "strftime(month, '%Y-%m') AS month"
        exact_heads = catalog.frame(con, f"SELECT unit_id, {month}, {', '.join(HEADLINE)} FROM release_month")
        exact_cells = catalog.frame(con, f"SELECT unit_id, {month}, dimension, value, customers FROM release_cells")
        domain = values_of(con)
    finally:
        con.unregister("release_units")
        for name in _TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return _noisy(release, keys, exact_heads, exact_cells, domain)


_TEMP_TABLES = (
    "release_rows",
    "release_hours",
    "release_month",
    "release_customer_cells",
    "release_hour_cells",
    "release_cells",
)


def _temp(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: dict[str, Any]) -> None:
    """A step of the release's computation, as a temporary table of the connection."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", catalog.used_params(sql, params))


def _noisy(
    release: Release,
    keys: pl.DataFrame,
    exact_heads: pl.DataFrame,
    exact_cells: pl.DataFrame,
    domain: dict[str, list[str]],
) -> ReleaseFigures:
    heads = {(r["unit_id"], r["month"]): r for r in exact_heads.iter_rows(named=True)}
    counts = {
        (u, m, d, v): n
        for u, m, d, v, n in exact_cells.select("unit_id", "month", "dimension", "value", "customers").iter_rows()
    }
    head_rows, cell_rows = [], []
    for level, unit_id, month in keys.select("level", "unit_id", pl.col("month").dt.strftime("%Y-%m")).iter_rows():
        exact = heads.get((unit_id, month), {})
        noisy = [release.noisy_count(exact.get(key) or 0, key, unit_id, month) for key in HEADLINE]
        head_rows.append((level, unit_id, month, *noisy))
        for dimension in DIMENSIONS:
            for value in domain[dimension]:
                n = counts.get((unit_id, month, dimension, value), 0)
                cell_rows.append(
                    (unit_id, month, dimension, value, release.noisy_count(n, dimension, unit_id, month, value))
                )
    return ReleaseFigures(
        release,
        pl.DataFrame(
            head_rows,
            schema={"level": pl.String, "unit_id": pl.String, "month": pl.String, **dict.fromkeys(HEADLINE, pl.Int64)},
            orient="row",
        ),
        pl.DataFrame(
            cell_rows,
            schema={
                "unit_id": pl.String,
                "month": pl.String,
                "dimension": pl.String,
                "value": pl.String,
                "customers": pl.Int64,
            },
            orient="row",
        ),
    )


def values_of(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every value of every distribution (the domain the noise covers)."""
    snapshot_values = catalog.frame(con, SQL.load("rpt_merchant_domain"))
    domain = {
        dimension: FIXED_VALUES.get(dimension)
        or snapshot_values.filter(pl.col("dimension") == dimension)["value"].to_list()
        for dimension in DIMENSIONS
    }
    empty = [dimension for dimension, values in domain.items() if not values]
    if empty:  # a dimension with no values would be published empty, without a word
        raise ValueError(f"no values known for {', '.join(empty)}")
    return domain


def load(release: Release) -> ReleaseFigures:
    figures = kept(release)
    if figures is None:
        raise PrivacyError(f"release {release.id} has no figures: run its batch again to compute them")
    return ReleaseFigures(release, figures["heads"], figures["cells"])
