"""Segment analyses: segment tables, the R x F grid, migration, scene and demographic mix,
subsidies and audiences, read from the `rfm` and `member_month` marts (built by
pipelines/segments/marts.py). Each question is one rpt_ query in sql/.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from pipelines.core import catalog
from pipelines.core.snapshot import Snapshot
from pipelines.core.sql import SqlFolder
from pipelines.segments.audience import Audience
from pipelines.segments.config import RfmConfig, load_config, register_config
from pipelines.segments.subsidy import subsidy_plan

SQL = SqlFolder.beside(__file__)


def check_as_of(snap: Snapshot, as_of: str) -> dt.date:
    """The as-of date must be a month end inside the snapshot's period (default: the last).
    A period that ends mid-month has no score for its last month: recency measured to a month
    end after the data stops would make every member look less recent than they are."""
    ends = snap.month_ends()
    if not ends:
        raise ValueError(
            f"snapshot {snap.id!r} covers {snap.start} to {snap.end}, which holds no month end: "
            "segments are scored at month ends"
        )
    if not as_of:
        return ends[-1]
    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError:
        raise ValueError(f"as_of {as_of!r} is not a date (YYYY-MM-DD)") from None
    if day not in ends:
        raise ValueError(f"as_of must be a month end of the snapshot: one of {', '.join(map(str, ends))}")
    return day


@dataclass
class Segmentation:
    """A connection with the rfm mart for one configuration, and the questions asked of it."""

    con: duckdb.DuckDBPyConnection
    config: RfmConfig
    as_of: dt.date

    def frame(self, name: str, **params: Any) -> pl.DataFrame:
        text = SQL.load(f"rpt_{name}")
        base = {"as_of": self.as_of, "window_months": self.config.window_months}
        used = {k: v for k, v in (base | params).items() if f"${k}" in text}
        return catalog.frame(self.con, text, used)

    def by_segment(self, frame: pl.DataFrame, on: str, values: str) -> pl.DataFrame:
        """A long frame pivoted to one row per segment (configured order), columns sorted."""
        wide = frame.pivot(on=on, index="segment", values=values).fill_null(0)
        order = self.config.segments.select("segment", "order")
        columns = sorted(c for c in wide.columns if c != "segment")
        return order.join(wide, on="segment", how="inner").sort("order").select("segment", *columns)

    def segment_table(self) -> pl.DataFrame:
        return self.frame("segment_table")

    def score_distribution(self) -> pl.DataFrame:
        """% of the scored members at each score 1-5 of R, F and M."""
        return self.frame("score_distribution")

    def rf_heatmap(self) -> pl.DataFrame:
        return self.frame("rf_heatmap")

    def migration(self) -> pl.DataFrame:
        return self.frame("migration_matrix")

    def migration_matrix(self) -> pl.DataFrame:
        """From-segment rows, to-segment columns, in the configured segment order."""
        order = self.config.segments["segment"].to_list()
        flows = self.migration()
        full = pl.DataFrame({"from_segment": order}).join(
            flows.pivot(on="to_segment", index="from_segment", values="members"), on="from_segment", how="left"
        )
        return full.select(
            "from_segment", *[pl.col(s).fill_null(0) if s in full.columns else pl.lit(0).alias(s) for s in order]
        )

    def flows_that_matter(self, top: int | None = 3) -> pl.DataFrame:
        """The `top` largest moves (None: all) towards the at-risk side (direction "lost") and
        back ("won"): direction, from_segment, to_segment, members; ties in order of the
        segment names."""
        sides = dict(zip(self.config.segments["segment"], self.config.segments["side"], strict=True))
        was, now = pl.col("from_segment").replace_strict(sides), pl.col("to_segment").replace_strict(sides)
        moves = self.migration().filter(pl.col("from_segment") != pl.col("to_segment"))
        lost = moves.filter((now == "at_risk") & (was != "at_risk")).with_columns(direction=pl.lit("lost"))
        won = moves.filter((was == "at_risk") & (now != "at_risk")).with_columns(direction=pl.lit("won"))
        ranked = [
            f.sort(["members", "from_segment", "to_segment"], descending=[True, False, False]) for f in (lost, won)
        ]
        if top is not None:
            ranked = [f.head(top) for f in ranked]
        return pl.concat(ranked).select("direction", "from_segment", "to_segment", "members")

    def scene_mix(self) -> pl.DataFrame:
        return self.frame("segment_scene_mix")

    def demographics(self) -> pl.DataFrame:
        return self.frame("segment_demographics")

    def subsidy_plan(self, budget_ntd: int) -> tuple[pl.DataFrame, dict[str, Any]]:
        """The plan from the measured returns of past operator subsidies where there are any
        (the campaign marts), else from the policy table."""
        return subsidy_plan(
            self.segment_table().select("segment", "members"),
            self.config.policy,
            budget_ntd,
            self.frame("subsidy_returns"),
        )

    def audience_members(self, criteria: Audience) -> pl.DataFrame:
        """Matching member IDs with their segment: for the operator's export, never a report."""
        self.check_audience(criteria)
        return self.frame("audience", **criteria.params())

    def check_audience(self, criteria: Audience) -> None:
        check_audience(self.con, self.config, criteria)

    def audience_by_segment(self, criteria: Audience) -> pl.DataFrame:
        """Exact members matching, per segment (every segment, in order): for the audience's
        release (audience_release.py), never shown as it is."""
        members = self.audience_members(criteria)
        return (
            self.config.segments.select("segment", "order")
            .join(members.group_by("segment").len("members"), on="segment", how="left")
            .with_columns(pl.col("members").fill_null(0).cast(pl.Int64))
            .sort("order")
            .drop("order")
        )


def check_audience(con: duckdb.DuckDBPyConnection, config: RfmConfig, criteria: Audience) -> None:
    """Refuse segment names and district IDs that do not exist: a typo would match no one."""
    districts = dict(con.execute("SELECT district_id, name_en FROM districts ORDER BY 1").fetchall())
    known = {
        "segments": {s: s for s in sorted(config.segments["segment"])},
        "districts": {d: f"{d} {name}" for d, name in districts.items()},
    }
    for field, names in (("segments", criteria.segments), ("districts", criteria.districts)):
        unknown = sorted(set(names) - set(known[field]))
        if unknown:
            raise ValueError(f"unknown {field} {', '.join(unknown)}; known: {', '.join(known[field].values())}")


def check_params(con: duckdb.DuckDBPyConnection, snap: Snapshot, params: dict[str, Any]) -> None:
    """Every parameter of the segment report, before it runs (a batch checks them all first)."""
    check_as_of(snap, params["as_of"])
    config = load_config(window_months=params["window_months"], segment_map=params["segment_map"])
    if params["subsidy_budget_ntd"] < 0:
        raise ValueError(f"subsidy_budget_ntd must not be negative, got {params['subsidy_budget_ntd']}")
    check_audience(con, config, Audience.from_params(params))


def open_segmentation(
    con: duckdb.DuckDBPyConnection,
    snap: Snapshot,
    as_of: str = "",
    window_months: int | None = None,
    segment_map: str = "",
) -> Segmentation:
    """Segment questions on a connection to the snapshot's marts (`marts.connect`); RFM is
    recomputed from member_month only if the window or map differ from the marts'."""
    config = load_config(window_months=window_months, segment_map=segment_map)
    day = check_as_of(snap, as_of)
    register_config(con, config)
    if not config.same_marts_as(load_config()):
        for name, params in (("rfm", config.sql_params(snap)), ("migration", None)):
            con.execute(f"DROP VIEW IF EXISTS {name}")
            con.register(name, con.sql(SQL.load(f"mart_{name}"), params=params).to_arrow_table())
    return Segmentation(con, config, day)
