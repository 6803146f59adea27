"""The segment marts against pandas, Polars and the bare DuckDB floor, for `make bench`.

All four read the same prepared Parquet of spend events (member_id, scene, event_at,
amount_ntd), and pandas and Polars do the marts' work as an analyst would write it: the
member-month activity mart (events, NT$, active days, last day per scene and over all
scenes), RFM and segments at every month end over a 3-month window, and month-to-month
migration. The floor is the least any
RFM needs: one GROUP BY member with count, sum and max. The grain is the least work we know
for a per-scene member-month mart: the mart's own GROUP BY member per scene and month
(member_scene_months) with a count, nothing else.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from pipelines import catalog, sql
from pipelines.marts import define_member_scene_months
from pipelines.segments import load_config, register_config

WINDOW = 3
SPEND = ("transit", "retail", "bills")


def prepare(snapshot: str, target: Path) -> int:
    """Write the spend events of a snapshot to one Parquet file (not timed)."""
    with catalog.connect(snapshot) as con:
        query = f"SELECT member_id, scene, event_at, amount_ntd FROM member_events WHERE scene IN {SPEND}"
        return catalog.write_parquet(con, query, target)


def _timed(events: Path, select: str) -> float:
    """Seconds to run `select ... FROM events` and fetch the result as Arrow, as the marts are."""
    import duckdb

    con = catalog.configure(duckdb.connect())
    start = time.perf_counter()
    con.sql(f"{select} FROM read_parquet({catalog.sql_literal(str(events))}) GROUP BY ALL").to_arrow_table()
    return time.perf_counter() - start


def floor(events: Path) -> float:
    return _timed(events, "SELECT member_id, count(*), sum(amount_ntd), max(event_at)")


def grain(events: Path, period: tuple[str, str]) -> float:
    """member_scene_months with only its count: DuckDB drops the aggregates nobody reads."""
    con = _connection(events, period)
    start = time.perf_counter()
    con.sql("SELECT member_id, month, scene, events FROM member_scene_months").to_arrow_table()
    return time.perf_counter() - start


def _connection(events: Path, period: tuple[str, str]):
    """A connection whose member_events is the prepared file, with member_scene_months defined."""
    import duckdb

    con = catalog.configure(duckdb.connect())
    con.execute(f"CREATE VIEW member_events AS SELECT * FROM read_parquet({catalog.sql_literal(str(events))})")
    define_member_scene_months(con, *period)
    return con


def marts(events: Path, period: tuple[str, str]) -> dict:
    """The project's mart SQL, unchanged, with member_events pointing at the prepared file;
    seconds in all, and per mart."""
    con = _connection(events, period)
    config = load_config(window_months=WINDOW)
    register_config(con, config)
    params = {"spend_scenes": list(SPEND), "window_months": WINDOW, "period_start": period[0], "period_end": period[1]}
    params |= dict(zip(("r5_days", "r4_days", "r3_days", "r2_days"), config.recency_thresholds_days, strict=True))
    steps = {
        "member_month": lambda: con.execute(f"CREATE TEMP TABLE member_month AS {sql.load('mart_member_month')}"),
        "rfm": lambda: con.register("rfm", con.sql(sql.load("rfm"), params=params).to_arrow_table()),
        "migration": lambda: con.sql(sql.load("migration")).to_arrow_table(),
    }
    parts = {}
    for name, step in steps.items():
        start = time.perf_counter()
        step()
        parts[name] = time.perf_counter() - start
    return {"seconds": sum(parts.values()), "parts": parts}


def _score_rank(values, ascending: bool = True):
    """1 + floor(5 (rank - 1) / n), ties sharing the lowest rank (as in rfm.sql)."""
    n = len(values)
    return (1 + (5 * (values.rank(method="min", ascending=ascending) - 1) // n)).astype("int64")


def pandas_version(events: Path, month_ends: list[str]) -> float:
    """How an analyst would write it in pandas: load, group, loop over month ends, merge."""
    import pandas as pd

    config = load_config(window_months=WINDOW)
    r5, r4, r3, r2 = config.recency_thresholds_days
    rf = config.rf_map.to_pandas()
    start = time.perf_counter()
    df = pd.read_parquet(events, columns=["member_id", "scene", "event_at", "amount_ntd"])
    df["day"] = df["event_at"].dt.normalize()
    df["month"] = df["event_at"].dt.to_period("M")
    aggs = {
        "events": ("day", "size"),
        "amount": ("amount_ntd", "sum"),
        "active_days": ("day", "nunique"),
        "last": ("day", "max"),
    }
    # The member-month activity mart: per scene, and over all scenes.
    per_scene = df.groupby(["member_id", "month", "scene"]).agg(**aggs).reset_index()
    mm = df.groupby(["member_id", "month"]).agg(**aggs).reset_index()
    pd.concat([per_scene, mm.assign(scene="all")])
    segments = {}
    for end in month_ends:
        end_ts = pd.Timestamp(end)
        upto = mm[mm["month"] <= end_ts.to_period("M")]
        window = upto[upto["month"] > (end_ts.to_period("M") - WINDOW)]
        r = upto.groupby("member_id")["last"].max().to_frame("last")
        r["recency"] = (end_ts - r["last"]).dt.days
        fm = window.groupby("member_id").agg(frequency=("events", "sum"), monetary=("amount", "sum"))
        r = r.join(fm).fillna({"frequency": 0, "monetary": 0})
        r["r_score"] = pd.cut(r["recency"], [-1, r5, r4, r3, r2, 10**9], labels=[5, 4, 3, 2, 1]).astype(int)
        r["f_score"] = _score_rank(r["frequency"])
        r["m_score"] = _score_rank(r["monetary"])
        r = r.reset_index().merge(rf, on=["r_score", "f_score"], how="left")
        segments[end] = r.set_index("member_id")["segment"]
    for prev, cur in itertools.pairwise(month_ends):
        both = segments[prev].to_frame("from").join(segments[cur].to_frame("to"), how="inner")
        both.groupby(["from", "to"]).size()
    return time.perf_counter() - start


def polars_version(events: Path, month_ends: list[str]) -> float:
    """The same in Polars, lazily, one month end at a time."""
    import datetime as dt

    import polars as pl

    config = load_config(window_months=WINDOW)
    r5, r4, r3, r2 = config.recency_thresholds_days
    rf = config.rf_map
    start = time.perf_counter()
    ev = pl.scan_parquet(events).with_columns(
        pl.col("event_at").dt.date().alias("day"), pl.col("event_at").dt.truncate("1mo").dt.date().alias("month")
    )
    aggs = [
        pl.len().alias("events"),
        pl.col("amount_ntd").sum().alias("amount"),
        pl.col("day").n_unique().alias("active_days"),
        pl.col("day").max().alias("last"),
    ]
    # The member-month activity mart: per scene, and over all scenes.
    per_scene, mm = pl.collect_all(
        [ev.group_by("member_id", "month", "scene").agg(aggs), ev.group_by("member_id", "month").agg(aggs)]
    )
    pl.concat([per_scene, mm.with_columns(pl.lit("all").alias("scene")).select(per_scene.columns)])
    segments = {}
    for end in month_ends:
        end_d = dt.date.fromisoformat(end)
        first_of_window = pl.lit(end_d).dt.truncate("1mo").dt.offset_by(f"-{WINDOW - 1}mo")
        upto = mm.filter(pl.col("month") <= end_d)
        r = upto.group_by("member_id").agg(
            pl.col("last").max(),
            pl.col("events").filter(pl.col("month") >= first_of_window).sum().alias("frequency"),
            pl.col("amount").filter(pl.col("month") >= first_of_window).sum().alias("monetary"),
        )
        n = r.height
        r = (
            r.with_columns(
                (pl.lit(end_d) - pl.col("last")).dt.total_days().alias("recency"),
            )
            .with_columns(
                pl.when(pl.col("recency") <= r5)
                .then(5)
                .when(pl.col("recency") <= r4)
                .then(4)
                .when(pl.col("recency") <= r3)
                .then(3)
                .when(pl.col("recency") <= r2)
                .then(2)
                .otherwise(1)
                .cast(pl.Int32)
                .alias("r_score"),
                (1 + (5 * (pl.col("frequency").rank("min") - 1)) // n).cast(pl.Int32).alias("f_score"),
                (1 + (5 * (pl.col("monetary").rank("min") - 1)) // n).cast(pl.Int32).alias("m_score"),
            )
            .join(rf, on=["r_score", "f_score"], how="left")
        )
        segments[end] = r.select("member_id", "segment")
    for prev, cur in itertools.pairwise(month_ends):
        segments[prev].join(segments[cur], on="member_id", suffix="_to").group_by("segment", "segment_to").len()
    return time.perf_counter() - start
