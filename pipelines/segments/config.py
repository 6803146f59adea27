"""The RFM configuration (config/rfm.toml and the files it names), validated on load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.core.config import ConfigError, check_keys, read_toml
from pipelines.core.schema import SCENES
from pipelines.core.snapshot import Snapshot

CONFIG_DIR = Path(__file__).parent / "config"
_KEYS = (
    "spend_scenes",
    "window_months",
    "frequency",
    "recency",
    "recency_thresholds_days",
    "frequency_thresholds",
    "segment_map",
    "lapsed_segment",
)
FREQUENCIES = ("events", "days")
RECENCIES = ("quantiles", "thresholds")


@dataclass(frozen=True)
class RfmConfig:
    spend_scenes: tuple[str, ...]
    window_months: int
    frequency: str
    recency: str
    recency_thresholds_days: tuple[int, int, int, int]
    frequency_thresholds: tuple[int, int, int, int]
    rf_map: pl.DataFrame
    segments: pl.DataFrame
    policy: pl.DataFrame
    lapsed_segment: str

    def sql_params(self, snap: Snapshot) -> dict[str, Any]:
        """The parameters of mart_rfm.sql for this configuration and the snapshot's period."""
        return (
            {
                "spend_scenes": list(self.spend_scenes),
                "window_months": self.window_months,
                "frequency": self.frequency,
                "recency": self.recency,
                "lapsed_segment": self.lapsed_segment,
                "period_start": snap.start.isoformat(),
                "period_end": snap.end.isoformat(),
            }
            | dict(zip(("r5_days", "r4_days", "r3_days", "r2_days"), self.recency_thresholds_days, strict=True))
            | dict(zip(("f5_min", "f4_min", "f3_min", "f2_min"), self.frequency_thresholds, strict=True))
        )

    def same_marts_as(self, other: RfmConfig) -> bool:
        """Whether the rfm mart built with `other` holds this configuration's scores."""

        def key(c: RfmConfig) -> tuple:
            return (
                c.spend_scenes,
                c.window_months,
                c.frequency,
                c.recency,
                c.recency_thresholds_days,
                c.frequency_thresholds,
                c.lapsed_segment,
            )

        return key(self) == key(other) and self.rf_map.to_dicts() == other.rf_map.to_dicts()

    @property
    def scored_segments(self) -> list[str]:
        """The segments of scored members, in order (all but the lapsed one)."""
        return [s for s in self.segments["segment"] if s != self.lapsed_segment]


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
    raw = check_keys(read_toml(path), _KEYS, str(path), required=_KEYS)
    if segment_map:
        raw["segment_map"] = segment_map
    scenes = tuple(raw["spend_scenes"])
    if not scenes or set(scenes) - set(SCENES):
        raise ConfigError(f"{path.name}: spend_scenes must be some of {', '.join(SCENES)}, got {list(scenes)}")
    window = window_months if window_months is not None else int(raw["window_months"])
    if not 1 <= window <= 24:
        raise ConfigError(f"window_months must be 1-24, got {window}")
    for key, allowed in (("frequency", FREQUENCIES), ("recency", RECENCIES)):
        if raw[key] not in allowed:
            raise ConfigError(f"{path.name}: {key} must be one of {', '.join(allowed)}, got {raw[key]!r}")
    thresholds = tuple(int(d) for d in raw["recency_thresholds_days"])
    if len(thresholds) != 4 or list(thresholds) != sorted(set(thresholds)) or thresholds[0] < 0:
        raise ConfigError(f"recency_thresholds_days must be 4 increasing day counts, got {list(thresholds)}")
    minimums = tuple(int(n) for n in raw["frequency_thresholds"])
    if len(minimums) != 4 or list(minimums) != sorted(set(minimums), reverse=True) or minimums[-1] < 1:
        raise ConfigError(f"frequency_thresholds must be 4 decreasing counts of at least 1, got {list(minimums)}")
    segments = pl.read_csv(folder / "segments.csv").sort("order")
    map_path = folder / raw["segment_map"]
    if not map_path.exists():
        raise ConfigError(f"segment map {raw['segment_map']!r} not found in {folder}")
    rf_map = pl.read_csv(map_path, schema_overrides={"r_score": pl.Int32, "f_score": pl.Int32})
    _check_map(rf_map, segments, raw["segment_map"])
    lapsed = raw["lapsed_segment"]
    if lapsed not in set(segments["segment"]) or lapsed in set(rf_map["segment"]):
        raise ConfigError(
            f"{path.name}: lapsed_segment {lapsed!r} must be described in segments.csv and not be in the R-F map"
        )
    policy = pl.read_csv(folder / "subsidy_policy.csv")
    if set(policy["segment"]) != set(segments["segment"]):
        raise ConfigError("subsidy_policy.csv must have exactly one row per segment of segments.csv")
    if policy.filter((pl.col("subsidise") == "no") & (pl.col("per_head_ntd") != 0)).height:
        raise ConfigError("subsidy_policy.csv: a segment that is not subsidised must have per_head_ntd 0")
    if policy.filter(pl.col("per_head_ntd") < 0).height:
        raise ConfigError("subsidy_policy.csv: per_head_ntd cannot be negative")
    return RfmConfig(
        scenes,
        window,
        raw["frequency"],
        raw["recency"],
        thresholds,
        minimums,
        rf_map,
        segments,
        policy,
        lapsed,  # type: ignore[arg-type]
    )


def config_tables(config: RfmConfig) -> dict[str, pl.DataFrame]:
    """The tables the segment SQL reads from the configuration: rf_segments and segment_info."""
    return {"rf_segments": config.rf_map, "segment_info": config.segments}


def register_config(con: duckdb.DuckDBPyConnection, config: RfmConfig) -> None:
    for name, table in config_tables(config).items():
        con.register(name, table.to_arrow())
