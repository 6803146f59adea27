"""Commute detection: which journeys of a staff card are commutes, and the legs of each.

The rule, step by step (parameters in config/commute.toml, read into CommuteRule):
1. Legs: every trip of a staff card (sql/int_staff_trips.sql, run by marts.py). MRT and light-rail
   distance is recomputed along the lines from the station table; bus, TRA and bike distance
   is the trip's recorded distance.
2. Journeys: a leg that taps in within `max_gap_minutes` of the previous leg's tap-out on the
   same card continues that journey (bus then MRT is one journey of two legs). A journey
   starts where its first leg boards and ends where its last leg alights.
3. Areas, learned from the employee's own repeated trips each calendar month: home is the
   district where the card's weekday morning journeys that month most often start, work where
   they most often end (ties go to the lower district ID). A card with fewer than
   `min_morning_journeys` such journeys in a month has no areas and so no commutes that month.
   Areas of the month follow an employee who moves house or job, and leave every month's
   commutes to its own trips, so a new month never changes an earlier one (an extension of a
   snapshot computes its new months alone).
4. Commutes: weekday journeys starting in the morning window (`am_from`..`am_to`, minutes
   after midnight, both ends included) from home to work, or in the evening window
   (`pm_from`..`pm_to`) from work to home. Leisure rides, weekend rides and rides between
   other places are not commutes.

This module is pure (frames in, frames out); marts.py does the reading and writing.
Steps 2-4 follow each card's trips in time order, so they run in Polars on one sort of the
staff trips instead of as SQL window functions (which sort once per window: 5x slower).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.core.config import ConfigError, check_keys, read_toml

RULE_FILE = Path(__file__).parent / "config" / "commute.toml"
_RULE_KEYS = ("max_gap_minutes", "morning", "evening", "min_morning_journeys")
#: The two commute windows of a day.
WINDOWS = pl.Enum(["morning", "evening"])


@dataclass(frozen=True)
class CommuteRule:
    max_gap_minutes: int
    am_from: int  # minutes after midnight
    am_to: int
    pm_from: int
    pm_to: int
    min_morning_journeys: int


def _minutes(text: object, where: str) -> int:
    try:
        hours, minutes = (int(x) for x in str(text).split(":"))
    except ValueError:
        raise ConfigError(f"{where}: times look like 06:30, got {text!r}") from None
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ConfigError(f"{where}: {text!r} is not a time of day")
    return hours * 60 + minutes


def load_rule(path: Path = RULE_FILE) -> CommuteRule:
    """Read the commute rule from config/commute.toml, refusing unknown keys and odd values."""
    raw = check_keys(read_toml(path), _RULE_KEYS, str(path), required=_RULE_KEYS)
    windows = {}
    for name in ("morning", "evening"):
        span = raw[name]
        if not isinstance(span, list) or len(span) != 2:
            raise ConfigError(f'{path}: {name} must be a window such as ["06:00", "10:00"]')
        lo, hi = (_minutes(t, f"{path}: {name}") for t in span)
        if lo > hi:
            raise ConfigError(f"{path}: the {name} window ends before it starts")
        windows[name] = (lo, hi)
    for key in ("max_gap_minutes", "min_morning_journeys"):
        if not isinstance(raw[key], int) or raw[key] < 1:
            raise ConfigError(f"{path}: {key} must be a whole number of at least 1, got {raw[key]!r}")
    return CommuteRule(raw["max_gap_minutes"], *windows["morning"], *windows["evening"], raw["min_morning_journeys"])


def summarise(legs: pl.DataFrame, card: str = "card_id") -> dict[str, pl.DataFrame]:
    """commute_days and commute_pkm (see commute_marts) from commute legs keyed by `card`."""
    days = legs.group_by(card, "month").agg(
        pl.col("day").n_unique().alias("commuting_days"), pl.col("journey_id").n_unique().alias("commute_trips")
    )
    # Whole metres, so that sums are exact and the same in any order (floats are not).
    metres = (pl.col("km") * 1000).round().cast(pl.Int64).sum().alias("passenger_m")
    pkm = legs.group_by(card, "month", "mode").agg(pl.len().alias("legs"), metres)
    return {"commute_days": days.sort(card, "month"), "commute_pkm": pkm.sort(card, "month", "mode")}


def detect(trips: pl.DataFrame, rule: CommuteRule) -> pl.DataFrame:
    """The legs of commutes among staff trips (columns of staff_trips.sql), in journey order,
    with journey_id (1, 2, ... over all cards), time_window, day and month added."""
    legs = trips.sort("card_no", "tap_in_s", "trip_id")
    new_card = pl.col("card_no") != pl.col("card_no").shift()
    gap_over = pl.col("tap_in_s") > pl.col("tap_out_s").shift() + 60 * rule.max_gap_minutes
    legs = legs.with_columns((new_card | gap_over).fill_null(True).cum_sum().cast(pl.Int64).alias("journey_id"))
    # Journeys are numbered densely in order, so the first and last legs of each line up.
    journey = legs["journey_id"]
    first = legs.select("card_no", "tap_in_s", "origin_district").filter(journey != journey.shift().fill_null(0))
    last = legs["destination_district"].filter(journey != journey.shift(-1).fill_null(0))
    second = pl.col("tap_in_s") % 86400
    weekday = (pl.col("tap_in_s") // 86400 + 3) % 7 < 5  # 1970-01-01, day 0, was a Thursday
    journeys = first.select(
        "card_no",
        (pl.col("tap_in_s") // 86400).cast(pl.Int32).cast(pl.Date).alias("day"),
        pl.col("origin_district").alias("from_district"),
        last.alias("to_district"),
        pl.when(weekday & second.is_between(60 * rule.am_from, 60 * rule.am_to + 59))
        .then(pl.lit("morning"))
        .when(weekday & second.is_between(60 * rule.pm_from, 60 * rule.pm_to + 59))
        .then(pl.lit("evening"))
        .cast(WINDOWS)
        .alias("time_window"),
    )
    journeys = journeys.with_columns(pl.col("day").dt.month_start().alias("month"))
    areas = _areas(journeys.filter(pl.col("time_window") == "morning"), rule.min_morning_journeys)
    is_commute = (
        journeys.join(areas, on=["card_no", "month"], how="left", maintain_order="left")
        .select(
            (
                (pl.col("time_window") == "morning")
                & (pl.col("from_district") == pl.col("home"))
                & (pl.col("to_district") == pl.col("work"))
            )
            | (
                (pl.col("time_window") == "evening")
                & (pl.col("from_district") == pl.col("work"))
                & (pl.col("to_district") == pl.col("home"))
            )
        )
        .to_series()
        .fill_null(False)
    )
    at = legs["journey_id"] - 1
    return (
        legs.with_columns(
            journeys["time_window"].gather(at),
            journeys["day"].gather(at),
            journeys["month"].gather(at),
            is_commute.gather(at).alias("commute"),
        )
        .filter("commute")
        .drop("commute")
    )


def _areas(morning: pl.DataFrame, min_journeys: int) -> pl.DataFrame:
    """Home and work district per card and month: where its morning journeys that month most
    often start and end."""
    key = ["card_no", "month"]

    def most_often(column: str, name: str) -> pl.DataFrame:
        counts = morning.group_by(*key, column).len()
        top = counts.sort([*key, "len", column], descending=[False, False, True, False]).unique(key, keep="first")
        return top.select(*key, pl.col(column).alias(name))

    enough = morning.group_by(key).len().filter(pl.col("len") >= min_journeys).select(key)
    return enough.join(most_often("from_district", "home"), on=key).join(most_often("to_district", "work"), on=key)
