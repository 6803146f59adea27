"""The merchant marts for all merchants against DuckDB's bare GROUP BY and Polars, for `make bench`.

The floor is the least any merchant headline needs: purchases grouped by outlet with count,
sum and distinct payers (card or wallet account). Polars does that same headline. The marts
do the real work: the customer behind each card or wallet, outlets and chains, customer-level
visits per month, then the headline mart and every distribution cell (visit frequency, new or
returning, age, gender, home district, RFM segment, hour of week, other categories bought).
The segment marts they read (rfm) are built first by `prepare` and not timed: they have
their own benchmark. The grain is two of the marts' figures written as bare as the floor:
the headline per outlet and month, and distinct payers per outlet, month and hour of week.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import polars as pl

from pipelines import catalog, marts
from pipelines.bench import timed_query
from pipelines.snapshot import read_manifest, table_glob

_FLOOR_SQL = """
SELECT merchant_id, count(*) AS transactions, sum(amount) AS revenue,
    count(DISTINCT coalesce(card_id, account_id)) AS payers
FROM purchases
GROUP BY merchant_id
"""


_GRAIN_SQL = """
SELECT merchant_id, date_trunc('month', purchased_at) AS month, {hour_of_week} count(*) AS transactions,
    sum(amount) AS revenue, count(DISTINCT coalesce(card_id, account_id)) AS payers
FROM purchases
GROUP BY ALL
"""


def floor(snapshot: str) -> dict:
    return timed_query(snapshot, _FLOOR_SQL)


def grain(snapshot: str) -> dict:
    monthly = timed_query(snapshot, _GRAIN_SQL.format(hour_of_week=""))
    weekly = timed_query(snapshot, _GRAIN_SQL.format(hour_of_week="isodow(purchased_at), hour(purchased_at),"))
    return {"seconds": monthly["seconds"] + weekly["seconds"], "groups": monthly["groups"] + weekly["groups"]}


def polars_headline(snapshot: str) -> dict:
    start = time.perf_counter()
    headline = (
        pl.scan_parquet(table_glob(snapshot, "purchases"))
        .group_by("merchant_id")
        .agg(
            pl.len().alias("transactions"),
            pl.col("amount").sum().alias("revenue"),
            pl.coalesce("card_id", "account_id").n_unique().alias("payers"),
        )
        .collect()
    )
    return {"seconds": time.perf_counter() - start, "groups": headline.height}


def prepare(snapshot: str) -> None:
    """Write the segment marts that merchant_cells reads (not timed) where `marts.connect` finds them."""
    folder = marts.marts_dir(snapshot)
    folder.mkdir(parents=True, exist_ok=True)
    with catalog.connect(snapshot) as con:
        marts.write_steps(con, marts.segment_steps(marts.prepare_segments(con, snapshot)), folder, folder / ".scratch")


def mart(snapshot: str) -> dict:
    """The merchant steps of `marts.build`: intermediates, merchant_month and merchant_cells."""
    with marts.connect(snapshot) as con, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        period_start = read_manifest(snapshot)["period"]["start"]
        start = time.perf_counter()
        rows = marts.write_steps(con, marts.merchant_steps(period_start), folder, folder / ".scratch")
        seconds = time.perf_counter() - start
        units = con.execute("SELECT count(*) FROM (SELECT DISTINCT level, unit_id FROM merchant_month)").fetchall()
        return {"seconds": seconds, "groups": units[0][0], "cells": rows["merchant_cells"]}
