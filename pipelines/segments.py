"""Segment analyses: RFM configuration, segment tables, migration, subsidies and audiences.

The heavy work is in the marts (pipelines/marts.py); everything here reads the small `rfm`
and `member_month` marts. Configuration (spend scenes, window, segment map, subsidy policy)
lives in pipelines/config/ and is validated on load.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines import catalog, sql
from pipelines.period import month_ends_between
from pipelines.snapshot import read_manifest

CONFIG_DIR = Path(__file__).parent / "config"
SCENES = ("transit", "retail", "bills", "p2p")


class ConfigError(ValueError):
    """A configuration file that does not describe a usable segmentation."""


@dataclass(frozen=True)
class RfmConfig:
    spend_scenes: tuple[str, ...]
    window_months: int
    recency_thresholds_days: tuple[int, int, int, int]
    rf_map: pl.DataFrame
    segments: pl.DataFrame
    policy: pl.DataFrame

    def sql_params(self, snapshot: str) -> dict[str, Any]:
        period = read_manifest(snapshot)["period"]
        return {
            "spend_scenes": list(self.spend_scenes),
            "window_months": self.window_months,
            "period_start": period["start"],
            "period_end": period["end"],
        } | dict(zip(("r5_days", "r4_days", "r3_days", "r2_days"), self.recency_thresholds_days, strict=True))


def _check_map(rf_map: pl.DataFrame, segments: pl.DataFrame, source: str) -> None:
    cells = {(r, f) for r in range(1, 6) for f in range(1, 6)}
    seen = list(zip(rf_map["r_score"], rf_map["f_score"], strict=True))
    if sorted(seen) != sorted(cells):
        missing = sorted(cells - set(seen))
        doubled = sorted({c for c in seen if seen.count(c) > 1})
        raise ConfigError(
            f"{source}: every R-F pair 1-5 x 1-5 must map to exactly one segment "
            f"(missing {missing or 'none'}, given twice {doubled or 'none'})"
        )
    unknown = set(rf_map["segment"]) - set(segments["segment"])
    if unknown:
        raise ConfigError(f"{source}: segments {sorted(unknown)} are not described in segments.csv")


def load_config(path: Path | None = None, window_months: int | None = None, segment_map: str = "") -> RfmConfig:
    """Read rfm.toml and the files it names; the arguments override the file's window and map."""
    path = path or CONFIG_DIR / "rfm.toml"
    folder = path.parent
    raw = tomllib.loads(path.read_text())
    if segment_map:
        raw["segment_map"] = segment_map
    scenes = tuple(raw["spend_scenes"])
    if not scenes or set(scenes) - set(SCENES):
        raise ConfigError(f"{path.name}: spend_scenes must be some of {', '.join(SCENES)}, got {list(scenes)}")
    window = window_months if window_months is not None else int(raw["window_months"])
    if not 1 <= window <= 24:
        raise ConfigError(f"window_months must be 1-24, got {window}")
    thresholds = tuple(int(d) for d in raw["recency_thresholds_days"])
    if len(thresholds) != 4 or list(thresholds) != sorted(set(thresholds)) or thresholds[0] < 0:
        raise ConfigError(f"recency_thresholds_days must be 4 increasing day counts, got {list(thresholds)}")
    segments = pl.read_csv(folder / "segments.csv").sort("order")
    map_path = folder / raw["segment_map"]
    if not map_path.exists():
        raise ConfigError(f"segment map {raw['segment_map']!r} not found in {folder}")
    rf_map = pl.read_csv(map_path, schema_overrides={"r_score": pl.Int32, "f_score": pl.Int32})
    _check_map(rf_map, segments, raw["segment_map"])
    policy = pl.read_csv(folder / "subsidy_policy.csv")
    if set(policy["segment"]) != set(segments["segment"]):
        raise ConfigError("subsidy_policy.csv must have exactly one row per segment of segments.csv")
    if policy.filter((pl.col("subsidise") == "no") & (pl.col("per_head_ntd") != 0)).height:
        raise ConfigError("subsidy_policy.csv: a segment that is not subsidised must have per_head_ntd 0")
    if policy.filter(pl.col("per_head_ntd") < 0).height:
        raise ConfigError("subsidy_policy.csv: per_head_ntd cannot be negative")
    return RfmConfig(scenes, window, thresholds, rf_map, segments, policy)  # type: ignore[arg-type]


def register_config(con: duckdb.DuckDBPyConnection, config: RfmConfig) -> None:
    con.register("rf_segments", config.rf_map.to_arrow())
    con.register("segment_info", config.segments.to_arrow())


def month_ends(snapshot: str) -> list[dt.date]:
    """The calendar month ends inside the snapshot's period: RFM is scored there. A period that
    ends mid-month has no score for its last month: recency measured to a month end after the
    data stops would make every member look less recent than they are."""
    period = read_manifest(snapshot)["period"]
    return month_ends_between(dt.date.fromisoformat(period["start"]), dt.date.fromisoformat(period["end"]))


def check_as_of(snapshot: str, as_of: str) -> dt.date:
    """The as-of date must be a month end inside the snapshot's period (default: the last)."""
    ends = month_ends(snapshot)
    if not ends:
        period = read_manifest(snapshot)["period"]
        raise ValueError(
            f"snapshot {snapshot!r} covers {period['start']} to {period['end']}, which holds no month end: "
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
    k_min: int = 10

    def frame(self, name: str, **params: Any) -> pl.DataFrame:
        text = sql.load(name)
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

    def flows_that_matter(self, top: int = 3) -> list[str]:
        """The largest moves towards the at-risk side and back, in words."""
        side = dict(zip(self.config.segments["segment"], self.config.segments["side"], strict=True))
        flows = self.migration().filter(pl.col("from_segment") != pl.col("to_segment"))
        lost = flows.filter(
            pl.col("to_segment").replace_strict(side) == "at_risk",
            pl.col("from_segment").replace_strict(side) != "at_risk",
        )
        won = flows.filter(
            pl.col("from_segment").replace_strict(side) == "at_risk",
            pl.col("to_segment").replace_strict(side) != "at_risk",
        )
        lines = []
        for label, frame in (("towards at risk", lost), ("won back", won)):
            ranked = frame.sort(["members", "from_segment", "to_segment"], descending=[True, False, False])
            for r in ranked.head(top).to_dicts():
                who = "member" if r["members"] == 1 else "members"
                lines.append(f"{label}: {r['members']:,} {who} moved {r['from_segment']} -> {r['to_segment']}")
        return lines

    def scene_mix(self) -> pl.DataFrame:
        return self.frame("segment_scene_mix")

    def demographics(self) -> pl.DataFrame:
        return self.frame("segment_demographics")

    def subsidy_plan(self, budget_ntd: int) -> tuple[pl.DataFrame, dict[str, Any]]:
        return subsidy_plan(self.segment_table().select("segment", "members"), self.config.policy, budget_ntd)

    def audience_members(self, criteria: Audience) -> pl.DataFrame:
        """Matching member IDs with their segment: for the operator's export, never a report."""
        self.check_audience(criteria)
        return self.frame("audience", **criteria.params())

    def check_audience(self, criteria: Audience) -> None:
        """Refuse segment names and district IDs that do not exist: a typo would match no one."""
        districts = dict(self.con.execute("SELECT district_id, name_en FROM districts ORDER BY 1").fetchall())
        known = {
            "segments": {s: s for s in sorted(self.config.segments["segment"])},
            "districts": {d: f"{d} {name}" for d, name in districts.items()},
        }
        for field, names in (("segments", criteria.segments), ("districts", criteria.districts)):
            unknown = sorted(set(names) - set(known[field]))
            if unknown:
                raise ValueError(f"unknown {field} {', '.join(unknown)}; known: {', '.join(known[field].values())}")

    def audience_counts(self, criteria: Audience) -> tuple[int, pl.DataFrame]:
        """How many members match, and per segment (counts under k shown as null)."""
        members = self.audience_members(criteria)
        by_segment = (
            self.config.segments.select("segment", "order")
            .join(members.group_by("segment").len("members"), on="segment", how="left")
            .with_columns(pl.col("members").fill_null(0))
            .sort("order")
            .drop("order")
        )
        return members.height, suppress_small(by_segment, "members", self.k_min)


def open_segmentation(
    snapshot: str, as_of: str = "", window_months: int | None = None, segment_map: str = ""
) -> Segmentation:
    """Connect to a snapshot's marts; RFM is recomputed only if window or map differ from the mart's."""
    from pipelines import marts

    config = load_config(window_months=window_months, segment_map=segment_map)
    day = check_as_of(snapshot, as_of)
    con = marts.connect(snapshot)
    register_config(con, config)
    default = load_config()
    if (config.window_months, config.rf_map.to_dicts()) != (default.window_months, default.rf_map.to_dicts()):
        # Another window or map than the marts were built with: recompute from member_month.
        for name in ("rfm", "migration"):
            con.execute(f"DROP VIEW IF EXISTS {name}")
            con.register(
                name,
                con.sql(sql.load(name), params=config.sql_params(snapshot) if name == "rfm" else None).to_arrow_table(),
            )
    return Segmentation(con, config, day)


def subsidy_plan(members: pl.DataFrame, policy: pl.DataFrame, budget_ntd: int) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Per-segment subsidy per head from the policy, scaled down (never up) to fit the budget.

    Scaled amounts are rounded down to whole NT$, so the total never exceeds the budget.
    """
    if budget_ntd < 0:
        raise ValueError(f"subsidy budget must not be negative, got {budget_ntd}")
    plan = policy.join(members, on="segment", how="left").with_columns(pl.col("members").fill_null(0))
    wanted = int((plan["members"] * plan["per_head_ntd"]).sum())
    factor = 1.0 if wanted <= budget_ntd else budget_ntd / wanted
    plan = plan.with_columns(
        (pl.col("per_head_ntd") * factor).floor().cast(pl.Int64).alias("per_head_ntd_planned"),
    ).with_columns((pl.col("members") * pl.col("per_head_ntd_planned")).alias("cost_ntd"))
    total = int(plan["cost_ntd"].sum())
    summary = {
        "budget_ntd": budget_ntd,
        "policy_cost_ntd": wanted,
        "scale_factor": factor,
        "total_cost_ntd": total,
        "unused_ntd": budget_ntd - total,
        "members_subsidised": int(plan.filter(pl.col("cost_ntd") > 0)["members"].sum()),
    }
    return plan.select(
        "segment", "subsidise", "members", "per_head_ntd", "per_head_ntd_planned", "cost_ntd", "why"
    ), summary


@dataclass(frozen=True)
class Audience:
    """Who a merchant wants to reach; empty values mean 'any'."""

    gender: str = ""
    age_min: int = 0
    age_max: int = 120
    min_monthly_spend_ntd: int = 0
    districts: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    scene: str = ""

    def __post_init__(self) -> None:
        if self.gender not in ("", "F", "M"):
            raise ValueError(f"gender must be F, M or empty (any), got {self.gender!r}")
        if not 0 <= self.age_min <= self.age_max <= 120:
            raise ValueError(f"age range {self.age_min}-{self.age_max} is not a range within 0-120")
        if self.min_monthly_spend_ntd < 0:
            raise ValueError("minimum monthly spend cannot be negative")
        if self.scene and self.scene not in SCENES:
            raise ValueError(f"scene must be one of {', '.join(SCENES)} or empty, got {self.scene!r}")

    @staticmethod
    def from_text(
        gender: str = "",
        ages: str = "",
        min_monthly_spend_ntd: int = 0,
        districts: str = "",
        segments: str = "",
        scene: str = "",
    ) -> Audience:
        """Build from notebook-style scalar parameters: ages '30-45', comma-separated lists."""
        lo, hi = 0, 120
        if ages:
            try:
                lo, hi = (int(x) for x in ages.split("-"))
            except ValueError:
                raise ValueError(f"ages must look like 30-45, got {ages!r}") from None
        return Audience(gender, lo, hi, min_monthly_spend_ntd, _items(districts), _items(segments), scene)

    def describe(self) -> str:
        """The criteria in plain words, for a report or a command's output."""
        who = {"F": "women", "M": "men"}.get(self.gender, "members")
        parts = [who if (self.age_min, self.age_max) == (0, 120) else f"{who} aged {self.age_min}-{self.age_max}"]
        if self.min_monthly_spend_ntd:
            parts.append(f"spending at least NT${self.min_monthly_spend_ntd:,} a month")
        if self.districts:
            parts.append(f"living in {', '.join(self.districts)}")
        if self.segments:
            parts.append(f"in segment {', '.join(self.segments)}")
        if self.scene:
            parts.append(f"active in {self.scene} over the window")
        return ", ".join(parts)

    def params(self) -> dict[str, Any]:
        return {
            "gender": self.gender,
            "age_min": self.age_min,
            "age_max": self.age_max,
            "min_monthly_spend": self.min_monthly_spend_ntd,
            "districts": list(self.districts),
            "segments": list(self.segments),
            "scene": self.scene,
        }


def _items(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def suppress_small(frame: pl.DataFrame, column: str, k: int) -> pl.DataFrame:
    """Counts below k become null (see `shown` for printing them as '<k')."""
    return frame.with_columns(pl.when(pl.col(column) >= k).then(pl.col(column)).alias(column))


def shown(frame: pl.DataFrame, column: str, k: int) -> pl.DataFrame:
    """For printing: suppressed counts as '<k', others with thousands separators."""
    return frame.with_columns(
        pl.col(column).map_elements(lambda n: f"{n:,}", return_dtype=pl.String).fill_null(f"<{k}").alias(column)
    )
