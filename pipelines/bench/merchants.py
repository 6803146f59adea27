"""The merchant marts for all merchants against DuckDB's bare GROUP BY and Polars, for `make bench`.

The floor is the least any merchant headline needs: purchases grouped by outlet with count,
sum and distinct payers (card or wallet account). Polars does that same headline, and its
answer is checked against DuckDB's before the step reports. The marts do the real work: the
customer behind each card or wallet, outlets and chains, customer-level visits per month, then
the headline mart and every distribution cell (visit frequency, new or returning, age, gender,
home district, RFM segment, hour of week, other categories bought). The segment marts they
read (rfm) are built first by `prepare` and not timed: they have their own benchmark. The
grain is two of the marts' figures written as bare as the floor: the headline per outlet and
month, and distinct payers per outlet, month and hour of week.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import polars as pl

from pipelines import marts
from pipelines.bench.harness import Measurement, env, generated, note_limit, timed_query, versus_floor
from pipelines.core import catalog
from pipelines.core.family import MartWriter
from pipelines.core.snapshot import Snapshot
from pipelines.merchant_profile.marts import build as build_merchant_marts
from pipelines.segments.marts import build as build_segment_marts

_FLOOR_SQL = """
SELECT merchant_id, count(*) AS transactions, sum(amount)::BIGINT AS revenue,
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
        pl.scan_parquet(Snapshot.open(snapshot).files("purchases"))
        .group_by("merchant_id")
        .agg(
            pl.len().alias("transactions"),
            pl.col("amount").sum().alias("revenue"),
            pl.coalesce("card_id", "account_id").n_unique().alias("payers"),
        )
        .collect()
    )
    seconds = time.perf_counter() - start
    with catalog.connect(snapshot) as con:
        golden = catalog.frame(con, _FLOOR_SQL)
    key = ["merchant_id"]
    if not headline.sort(key).equals(golden.sort(key).cast(headline.schema)):
        raise AssertionError("the Polars headline differs from DuckDB's answer")
    return {"seconds": seconds, "groups": headline.height, "note": "answer checked against DuckDB's"}


def _writer(con, snapshot: str, folder: Path) -> MartWriter:
    return MartWriter(con, Snapshot.open(snapshot), folder, folder / ".scratch")


def prepare(snapshot: str) -> None:
    """Write the segment marts that merchant_cells reads (not timed) where `marts.connect` finds them."""
    with marts.connect(snapshot) as con:
        build_segment_marts(_writer(con, snapshot, marts.marts_dir(snapshot)))


def mart(snapshot: str) -> dict:
    """The merchant family's build step: intermediates, merchant_month and merchant_cells."""
    with marts.connect(snapshot) as con, tempfile.TemporaryDirectory() as tmp:
        out = _writer(con, snapshot, Path(tmp))
        start = time.perf_counter()
        build_merchant_marts(out)
        seconds = time.perf_counter() - start
        units = con.execute("SELECT count(*) FROM (SELECT DISTINCT level, unit_id FROM merchant_month)").fetchall()
        return {"seconds": seconds, "groups": units[0][0], "cells": out.built["merchant_cells"]}


def part(scale: float, data: Path) -> list[Measurement]:
    """The merchant marts for all merchants next to DuckDB's bare GROUP BY merchant and Polars."""
    environment = env(data, "merchants")
    snap = f"bench-merchants-s{scale:g}"
    gen = generated(snap, scale, environment)
    os.environ["CARD_INSIGHTS_DATA"] = str(data)
    prepare(snap)
    steps = {
        "floor: DuckDB GROUP BY merchant (count, sum, count distinct payers)": "floor",
        "grain: the same per outlet and month, and per outlet, month and hour of week": "grain",
        "polars: the same headline": "polars_headline",
        "merchant marts (visits, headline, all distribution cells)": "mart",
    }
    out = versus_floor(gen, "merchants", "purchases", steps, environment, snapshot=snap)
    note_limit("merchants", out[1], out[2], out[4])
    return out
