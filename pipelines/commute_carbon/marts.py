"""The commute family's marts, for all employers at once: commute_days (per staff card and
month: commuting days, commute trips) and commute_pkm (per staff card, month and mode: legs
and passenger-metres). The staff trips come from SQL; detection (detect.py) runs in Polars."""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.commute_carbon.detect import CommuteRule, detect, load_rule, summarise
from pipelines.core import catalog
from pipelines.core.family import MartWriter
from pipelines.core.network import distance_matrix
from pipelines.core.sql import SqlFolder

SQL = SqlFolder.beside(__file__)
#: One row per leg of a commute (commute_legs).
LEG_COLUMNS = ("employer_id", "card_id", "month", "day", "journey_id", "time_window", "trip_id", "mode", "km")


def rail_distances() -> pl.DataFrame:
    """Distance along the lines for every pair of stations of the same system."""
    ids, km = distance_matrix()
    rows = [(a, b, float(km[i, j])) for i, a in enumerate(ids) for j, b in enumerate(ids) if km[i, j] == km[i, j]]
    return pl.DataFrame(rows, schema=["origin_station_id", "destination_station_id", "km"], orient="row")


def commute_legs(con: duckdb.DuckDBPyConnection, rule: CommuteRule | None = None) -> pl.DataFrame:
    """Every leg of every detected commute, for all employers at once (columns LEG_COLUMNS)."""
    cards, legs = _detected(con, rule or load_rule())
    return _label(legs, cards).select(LEG_COLUMNS)


def commute_marts(con: duckdb.DuckDBPyConnection, rule: CommuteRule | None = None) -> dict[str, pl.DataFrame]:
    """commute_days and commute_pkm. Aggregating by card number before naming the cards keeps
    this fast."""
    cards, legs = _detected(con, rule or load_rule())
    return {name: _label(frame, cards) for name, frame in summarise(legs, "card_no").items()}


def _detected(con: duckdb.DuckDBPyConnection, rule: CommuteRule) -> tuple[pl.DataFrame, pl.DataFrame]:
    cards = catalog.frame(con, SQL.load("stg_staff_cards"))
    con.register("staff_cards", cards.to_arrow())
    con.register("rail_distances", rail_distances().to_arrow())
    con.execute(SQL.load("int_district_enum"))
    return cards, detect(catalog.frame(con, SQL.load("int_staff_trips")), rule)


def _label(frame: pl.DataFrame, cards: pl.DataFrame) -> pl.DataFrame:
    """Swap the card number for the card and its employer (staff_cards numbers them 1..n)."""
    at = frame["card_no"] - 1
    return frame.select(cards["employer_id"].gather(at), cards["card_id"].gather(at), pl.exclude("card_no"))


def build(out: MartWriter) -> None:
    for name, frame in commute_marts(out.con).items():
        out.frame(name, frame)
