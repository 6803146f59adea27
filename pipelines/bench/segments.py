"""The segment marts against pandas, Polars and the bare DuckDB floor, for `make bench`.

All four read the same prepared Parquet of spend events (member_id, scene, event_at,
amount_ntd), and pandas and Polars do the marts' work as an analyst would write it: the
member-month activity mart (events, NT$, active days, last day per scene and over all
scenes), RFM and segments at every month end over the configured window, and month-to-month
migration. Each writes its answer (every member's segment at every month end, and the
migration counts) after its timed part, and `check_answers` compares it with the marts'
before any result is written. The floor is the least any RFM needs: one GROUP BY member with
count, sum and max. The grain is the least work we know for a per-scene member-month mart:
the mart's own GROUP BY member per scene and month (member_scene_months) with a count.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import duckdb
import polars as pl

from pipelines.bench.harness import Measurement, env, generated, measure
from pipelines.core import catalog
from pipelines.core.snapshot import Snapshot
from pipelines.segments.config import load_config, register_config
from pipelines.segments.marts import SQL, member_scene_months

CONFIG = load_config()
WINDOW = CONFIG.window_months
SPEND = CONFIG.spend_scenes
ANSWER_KEYS = {"segments": ["month_end", "member_id"], "migration": ["month_end", "from_segment", "to_segment"]}


def prepare(snapshot: str, target: Path) -> int:
    """Write the spend events of a snapshot to one Parquet file (not timed)."""
    from pipelines import marts

    with marts.connect(snapshot) as con:
        query = f"SELECT member_id, scene, event_at, amount_ntd FROM member_events WHERE scene IN {SPEND}"
        return catalog.write_parquet(con, query, target)


def _timed(events: str, select: str) -> float:
    """Seconds to run `select ... FROM events` and fetch the result as Arrow, as the marts are."""
    con = catalog.configure(duckdb.connect())
    start = time.perf_counter()
    con.sql(f"{select} FROM read_parquet({catalog.sql_literal(events)}) GROUP BY ALL").to_arrow_table()
    return time.perf_counter() - start


def floor(events: str) -> float:
    return _timed(events, "SELECT member_id, count(*), sum(amount_ntd), max(event_at)")


def grain(events: str, snapshot: str) -> float:
    """member_scene_months with only its count: DuckDB drops the aggregates nobody reads."""
    con = _connection(events, snapshot)
    start = time.perf_counter()
    con.sql("SELECT member_id, month, scene, events FROM member_scene_months").to_arrow_table()
    return time.perf_counter() - start


def _connection(events: str, snapshot: str) -> duckdb.DuckDBPyConnection:
    """A connection whose member_events is the prepared file, with member_scene_months defined."""
    con = catalog.configure(duckdb.connect())
    con.execute(f"CREATE VIEW member_events AS SELECT * FROM read_parquet({catalog.sql_literal(events)})")
    con.execute(f"CREATE VIEW member_scene_months AS {member_scene_months(Snapshot.open(snapshot))}")
    return con


def _save(answer: str, segments: pl.DataFrame, migration: pl.DataFrame) -> None:
    """An implementation's answer, written after its timed part: segment per member and month
    end, and migration counts."""
    segments.select("month_end", "member_id", "segment").write_parquet(f"{answer}-segments.parquet")
    migration.select(*ANSWER_KEYS["migration"], pl.col("members").cast(pl.Int64)).write_parquet(
        f"{answer}-migration.parquet"
    )


def check_answers(golden: str, answer: str) -> None:
    """Raise unless `answer` holds exactly the marts' segments and migration counts."""
    for name, key in ANSWER_KEYS.items():
        want = pl.read_parquet(f"{golden}-{name}.parquet").sort(key)
        got = pl.read_parquet(f"{answer}-{name}.parquet").sort(key)
        if not got.cast(want.schema).equals(want):
            differ = got.join(want, on=key, how="anti").height + want.join(got, on=key, how="anti").height
            raise AssertionError(f"{answer}: {name} differs from the marts' answer ({differ} rows unmatched)")


def marts(events: str, snapshot: str, answer: str) -> dict:
    """The project's mart SQL, unchanged, with member_events pointing at the prepared file;
    seconds in all, and per mart."""
    con = _connection(events, snapshot)
    register_config(con, CONFIG)
    params = CONFIG.sql_params(Snapshot.open(snapshot))
    steps = {
        "member_month": lambda: con.execute(f"CREATE TEMP TABLE member_month AS {SQL.load('mart_member_month')}"),
        "rfm": lambda: con.register("rfm", con.sql(SQL.load("mart_rfm"), params=params).to_arrow_table()),
        "migration": lambda: con.register("migration", con.sql(SQL.load("mart_migration")).to_arrow_table()),
    }
    parts = {}
    for name, step in steps.items():
        start = time.perf_counter()
        step()
        parts[name] = time.perf_counter() - start
    _save(answer, catalog.frame(con, "SELECT * FROM rfm"), catalog.frame(con, "SELECT * FROM migration"))
    return {"seconds": sum(parts.values()), "parts": parts}


def _quantile_score(values, worse, n: int):
    """1 + floor(5 (worse + tied / 2) / n), the marts' rule, for pandas: `worse` counts the
    members with a worse value, and ties are those with the same value."""
    tied = values.groupby(values).transform("size")
    return (1 + (5 * (worse + tied / 2) // n)).astype("int64")


def pandas_version(events: str, snapshot: str, answer: str) -> float:
    """How an analyst would write it in pandas: load, group, loop over month ends, merge."""
    import pandas as pd

    month_ends = [d.isoformat() for d in Snapshot.open(snapshot).month_ends()]
    r5, r4, r3, r2 = CONFIG.recency_thresholds_days
    rf = CONFIG.rf_map.to_pandas()
    start = time.perf_counter()
    df = pd.read_parquet(events, columns=["member_id", "scene", "event_at", "amount_ntd"])
    df["day"] = df["event_at"].dt.normalize()
    df["month"] = df["event_at"].dt.to_period("M")
    aggs = {
        "events": ("day", "size"),
        "amount": ("amount_ntd", "sum"),
        "active_days": ("day", "nunique"),
        "last_day": ("day", "max"),
        "last_at": ("event_at", "max"),
    }
    # The member-month activity mart: per scene, and over all (spend) scenes.
    per_scene = df.groupby(["member_id", "month", "scene"]).agg(**aggs).reset_index()
    mm = df.groupby(["member_id", "month"]).agg(**aggs).reset_index()
    pd.concat([per_scene, mm.assign(scene="all")])
    frequency = "active_days" if CONFIG.frequency == "days" else "events"
    segments = {}
    for end in month_ends:
        end_ts = pd.Timestamp(end)
        upto = mm[mm["month"] <= end_ts.to_period("M")]
        window = upto[upto["month"] > (end_ts.to_period("M") - WINDOW)]
        r = upto.groupby("member_id")["last_at"].max().to_frame("last_at")
        fm = window.groupby("member_id").agg(frequency=(frequency, "sum"), monetary=("amount", "sum"))
        r = r.join(fm).fillna({"frequency": 0, "monetary": 0})
        active = r[r["frequency"] > 0].copy()
        n = len(active)
        if CONFIG.recency == "thresholds":
            days = (end_ts - active["last_at"].dt.normalize()).dt.days
            active["r_score"] = pd.cut(days, [-1, r5, r4, r3, r2, 10**9], labels=[5, 4, 3, 2, 1]).astype("int64")
        else:
            worse = active["last_at"].rank(method="min") - 1
            active["r_score"] = _quantile_score(active["last_at"], worse, n)
        for column, score in (("frequency", "f_score"), ("monetary", "m_score")):
            active[score] = _quantile_score(active[column], active[column].rank(method="min") - 1, n)
        scored = active.reset_index().merge(rf, on=["r_score", "f_score"], how="left").set_index("member_id")
        segment = pd.Series(CONFIG.lapsed_segment, index=r.index, name="segment")
        segment.loc[scored.index] = scored["segment"]
        segments[end] = segment
    flows = {}
    for prev, cur in itertools.pairwise(month_ends):
        both = segments[prev].to_frame("from").join(segments[cur].to_frame("to"), how="inner")
        flows[cur] = both.groupby(["from", "to"]).size()
    seconds = time.perf_counter() - start
    _save(
        answer,
        pl.concat(
            pl.from_pandas(s.rename_axis("member_id").reset_index()).select(
                pl.lit(pd.Timestamp(end).date()).alias("month_end"), "member_id", "segment"
            )
            for end, s in segments.items()
        ),
        pl.concat(
            pl.from_pandas(f.reset_index(name="members")).select(
                pl.lit(pd.Timestamp(end).date()).alias("month_end"),
                pl.col("from").alias("from_segment"),
                pl.col("to").alias("to_segment"),
                "members",
            )
            for end, f in flows.items()
        ),
    )
    return seconds


def polars_version(events: str, snapshot: str, answer: str) -> float:
    """The same in Polars, lazily, one month end at a time."""
    import datetime as dt

    month_ends = [d.isoformat() for d in Snapshot.open(snapshot).month_ends()]
    r5, r4, r3, r2 = CONFIG.recency_thresholds_days
    rf = CONFIG.rf_map
    start = time.perf_counter()
    ev = pl.scan_parquet(events).with_columns(
        pl.col("event_at").dt.date().alias("day"), pl.col("event_at").dt.truncate("1mo").dt.date().alias("month")
    )
    aggs = [
        pl.len().alias("events"),
        pl.col("amount_ntd").sum().alias("amount"),
        pl.col("day").n_unique().alias("active_days"),
        pl.col("day").max().alias("last_day"),
        pl.col("event_at").max().alias("last_at"),
    ]
    # The member-month activity mart: per scene, and over all (spend) scenes.
    per_scene, mm = pl.collect_all(
        [ev.group_by("member_id", "month", "scene").agg(aggs), ev.group_by("member_id", "month").agg(aggs)]
    )
    pl.concat([per_scene, mm.with_columns(pl.lit("all").alias("scene")).select(per_scene.columns)])
    frequency = "active_days" if CONFIG.frequency == "days" else "events"

    def score(column: str) -> pl.Expr:
        worse = pl.col(column).rank("min") - 1
        tied = pl.len().over(column)
        return (1 + (5 * (worse + tied / 2) / pl.len()).floor()).cast(pl.Int32)

    segments = {}
    for end in month_ends:
        end_d = dt.date.fromisoformat(end)
        first_of_window = pl.lit(end_d).dt.truncate("1mo").dt.offset_by(f"-{WINDOW - 1}mo")
        r = (
            mm.filter(pl.col("month") <= end_d)
            .group_by("member_id")
            .agg(
                pl.col("last_at").max(),
                pl.col(frequency).filter(pl.col("month") >= first_of_window).sum().alias("frequency"),
                pl.col("amount").filter(pl.col("month") >= first_of_window).sum().alias("monetary"),
            )
        )
        active = r.filter(pl.col("frequency") > 0)
        if CONFIG.recency == "thresholds":
            days = (pl.lit(end_d) - pl.col("last_at").dt.date()).dt.total_days()
            r_score = (
                pl.when(days <= r5).then(5).when(days <= r4).then(4).when(days <= r3).then(3).when(days <= r2).then(2)
            ).otherwise(1)
        else:
            r_score = score("last_at")
        scored = active.with_columns(
            r_score.cast(pl.Int32).alias("r_score"),
            score("frequency").alias("f_score"),
            score("monetary").alias("m_score"),
        ).join(rf, on=["r_score", "f_score"], how="left")
        lapsed = r.filter(pl.col("frequency") == 0).select("member_id", pl.lit(CONFIG.lapsed_segment).alias("segment"))
        segments[end] = pl.concat([scored.select("member_id", "segment"), lapsed]).select(
            pl.lit(end_d).alias("month_end"), "member_id", "segment"
        )
    flows = [
        segments[prev]
        .join(segments[cur], on="member_id", suffix="_to")
        .group_by("month_end_to", "segment", "segment_to")
        .len("members")
        for prev, cur in itertools.pairwise(month_ends)
    ]
    seconds = time.perf_counter() - start
    migration = pl.concat(flows).rename(
        {"month_end_to": "month_end", "segment": "from_segment", "segment_to": "to_segment"}
    )
    _save(answer, pl.concat(segments.values()), migration)
    return seconds


def part(scale: float, data: Path) -> list[Measurement]:
    """RFM + segment + migration marts next to pandas, Polars and the bare DuckDB floor; the
    pandas and Polars answers are checked against the marts' before anything is written."""
    environment = env(data)
    snap = f"bench-seg-s{scale:g}"
    gen = generated(snap, scale, environment)
    events = str(data / "spend_events.parquet")
    os.environ["CARD_INSIGHTS_DATA"] = str(data)
    rows = prepare(snap, Path(events))
    answers = {name: str(data / f"answer-{name}") for name in ("marts", "polars", "pandas")}
    calls = {
        "floor: DuckDB GROUP BY member (count, sum, max)": ("floor", {}),
        "grain: GROUP BY member per scene and month (count only)": ("grain", {"snapshot": snap}),
        "segment marts (member_month + rfm + migration)": ("marts", {"snapshot": snap, "answer": answers["marts"]}),
        "polars (same computation)": ("polars_version", {"snapshot": snap, "answer": answers["polars"]}),
        "pandas (same computation)": ("pandas_version", {"snapshot": snap, "answer": answers["pandas"]}),
    }
    out = [gen]
    for label, (function, kwargs) in calls.items():
        m = measure(label, "segments", function, environment, events=events, **kwargs)
        m.detail["rows"] = rows
        out.append(m)
    for name in ("polars", "pandas"):
        check_answers(answers["marts"], answers[name])
    floor_s = out[1].seconds
    for m in out[2:]:
        parts = "".join(f"; {k} {v:.2f} s = {v / floor_s:.2f}x" for k, v in m.detail.pop("parts", {}).items())
        checked = "; answer equals the marts'" if m.name.startswith(("polars", "pandas")) else ""
        m.detail["note"] = f"{m.seconds / floor_s:.2f}x the floor; {rows:,} spend events{parts}{checked}"
    return out
