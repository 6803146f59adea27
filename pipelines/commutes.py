"""Commute detection: which journeys of a staff card are commutes, and the legs of each.

The rule, step by step (parameters in CommuteRule):
1. Legs: every trip of a staff card (pipelines/sql/staff_trips.sql). MRT and light-rail
   distance is recomputed along the lines from the station table; bus, TRA and bike distance
   is the trip's recorded distance.
2. Journeys: a leg that taps in within `max_gap_minutes` of the previous leg's tap-out on the
   same card continues that journey (bus then MRT is one journey of two legs). A journey
   starts where its first leg boards and ends where its last leg alights.
3. Areas, learned from the employee's own repeated trips: home is the district where the
   card's weekday morning journeys most often start, work where they most often end (ties go
   to the lower district ID). Cards with fewer than `min_morning_journeys` such journeys in
   the period have no areas and so no commutes.
4. Commutes: weekday journeys starting in the morning window (`am_from`..`am_to`, minutes
   after midnight, both ends included) from home to work, or in the evening window
   (`pm_from`..`pm_to`) from work to home. Leisure rides, weekend rides and rides between
   other places are not commutes.

Steps 2-4 follow each card's trips in time order, so they run in Polars on one sort of the
staff trips instead of as SQL window functions (which sort once per window: 5x slower).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from pipelines import catalog, sql
from pipelines.network import distance_matrix

#: Columns of the commute_legs mart: one row per leg of a commute.
WINDOWS = pl.Enum(["morning", "evening"])
LEG_COLUMNS = ("employer_id", "card_id", "month", "day", "journey_id", "time_window", "trip_id", "mode", "km")


@dataclass(frozen=True)
class CommuteRule:
    max_gap_minutes: int = 30
    am_from: int = 6 * 60
    am_to: int = 10 * 60
    pm_from: int = 16 * 60
    pm_to: int = 21 * 60
    min_morning_journeys: int = 5


def rail_distances() -> pl.DataFrame:
    """Distance along the lines for every pair of stations of the same system."""
    ids, km = distance_matrix()
    rows = [(a, b, float(km[i, j])) for i, a in enumerate(ids) for j, b in enumerate(ids) if km[i, j] == km[i, j]]
    return pl.DataFrame(rows, schema=["origin_station_id", "destination_station_id", "km"], orient="row")


def commute_legs(con: duckdb.DuckDBPyConnection, rule: CommuteRule | None = None) -> pl.DataFrame:
    """Every leg of every detected commute, for all employers at once (columns LEG_COLUMNS)."""
    cards, legs = _detected(con, rule or CommuteRule())
    return _label(legs, cards).select(LEG_COLUMNS)


def commute_marts(con: duckdb.DuckDBPyConnection, rule: CommuteRule | None = None) -> dict[str, pl.DataFrame]:
    """The commute marts, for all employers at once: `commute_days` (per staff card and month:
    commuting days, commute trips) and `commute_pkm` (per staff card, month and mode: legs and
    passenger-metres). Aggregating by card number before naming the cards keeps this fast."""
    cards, legs = _detected(con, rule or CommuteRule())
    return {name: _label(frame, cards) for name, frame in summarise(legs, "card_no").items()}


def summarise(legs: pl.DataFrame, card: str = "card_id") -> dict[str, pl.DataFrame]:
    """commute_days and commute_pkm (see commute_marts) from commute legs keyed by `card`."""
    days = legs.group_by(card, "month").agg(
        pl.col("day").n_unique().alias("commuting_days"), pl.col("journey_id").n_unique().alias("commute_trips")
    )
    # Whole metres, so that sums are exact and the same in any order (floats are not).
    metres = (pl.col("km") * 1000).round().cast(pl.Int64).sum().alias("passenger_m")
    pkm = legs.group_by(card, "month", "mode").agg(pl.len().alias("legs"), metres)
    return {"commute_days": days.sort(card, "month"), "commute_pkm": pkm.sort(card, "month", "mode")}


def _detected(con: duckdb.DuckDBPyConnection, rule: CommuteRule) -> tuple[pl.DataFrame, pl.DataFrame]:
    cards = catalog.frame(con, sql.load("staff_cards"))
    con.register("staff_cards", cards.to_arrow())
    con.register("rail_distances", rail_distances().to_arrow())
    con.execute(sql.load("district_enum"))
    return cards, detect(catalog.frame(con, sql.load("staff_trips")), rule)


def _label(frame: pl.DataFrame, cards: pl.DataFrame) -> pl.DataFrame:
    """Swap the card number for the card and its employer (staff_cards numbers them 1..n)."""
    at = frame["card_no"] - 1
    return frame.select(cards["employer_id"].gather(at), cards["card_id"].gather(at), pl.exclude("card_no"))


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
    areas = _areas(journeys.filter(pl.col("time_window") == "morning"), rule.min_morning_journeys)
    is_commute = (
        journeys.join(areas, on="card_no", how="left", maintain_order="left")
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
            journeys["day"].dt.month_start().gather(at).alias("month"),
            is_commute.gather(at).alias("commute"),
        )
        .filter("commute")
        .drop("commute")
    )


def _areas(morning: pl.DataFrame, min_journeys: int) -> pl.DataFrame:
    """Home and work district per card: where its morning journeys most often start and end."""

    def most_often(column: str, name: str) -> pl.DataFrame:
        counts = morning.group_by("card_no", column).len()
        top = counts.sort(["card_no", "len", column], descending=[False, True, False]).unique("card_no", keep="first")
        return top.select("card_no", pl.col(column).alias(name))

    enough = morning.group_by("card_no").len().filter(pl.col("len") >= min_journeys).select("card_no")
    return enough.join(most_often("from_district", "home"), on="card_no").join(
        most_often("to_district", "work"), on="card_no"
    )
