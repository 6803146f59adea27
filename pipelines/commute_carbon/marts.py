"""The commute family's marts, for all employers at once: commute_days (per staff card and
month: commuting days, commute trips) and commute_pkm (per staff card, month and mode: legs
and passenger-metres). The staff trips come from SQL; detection (detect.py) runs in Polars.
A month's commutes stand on that month's trips alone, so an extension of a snapshot detects
its new months only and shares its parent's earlier ones."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from pipelines.commute_carbon.detect import CommuteRule, detect, load_rule, summarise
from pipelines.core.engine import DuckDBEngine, Engine
from pipelines.core.family import MartWriter
from pipelines.core.network import distance_matrix
from pipelines.core.sql import SqlFolder, inline

SQL = SqlFolder.beside(__file__)
#: What one row of each mart is, by card number (the order the marts are written in).
MART_KEYS = {"commute_days": ("card_no", "month"), "commute_pkm": ("card_no", "month", "mode")}
#: `since` for the whole period (ISO dates before year 1000 do not parse everywhere).
BEFORE_ANY_TRIP = dt.date(1970, 1, 1)
#: One row per leg of a commute (commute_legs).
LEG_COLUMNS = ("employer_id", "card_id", "month", "day", "journey_id", "time_window", "trip_id", "mode", "km")


def rail_distances() -> pl.DataFrame:
    """Distance along the lines for every pair of stations of the same system."""
    ids, km = distance_matrix()
    rows = [(a, b, float(km[i, j])) for i, a in enumerate(ids) for j, b in enumerate(ids) if km[i, j] == km[i, j]]
    return pl.DataFrame(rows, schema=["origin_station_id", "destination_station_id", "km"], orient="row")


def commute_legs(db: Engine | duckdb.DuckDBPyConnection, rule: CommuteRule | None = None) -> pl.DataFrame:
    """Every leg of every detected commute, for all employers at once (columns LEG_COLUMNS)."""
    rule = rule or load_rule()
    engine, cards = _staff_trips(db)
    legs = engine.per_group(_trips(), "card_no", lambda trips: {"legs": detect(trips, rule)})
    return _label(legs["legs"], cards).select(LEG_COLUMNS)


def commute_marts(
    db: Engine | duckdb.DuckDBPyConnection, rule: CommuteRule | None = None, since: dt.date | None = None
) -> dict[str, pl.DataFrame]:
    """commute_days and commute_pkm, for all employers at once, from the month `since` on (None:
    the whole period). Detection runs per staff card (each card's result depends on its own
    trips alone), so an engine may split the cards among its workers; aggregating by card
    number before naming the cards keeps this fast."""
    rule = rule or load_rule()
    engine, cards = _staff_trips(db)
    frames = engine.per_group(_trips(since), "card_no", lambda trips: summarise(detect(trips, rule), "card_no"))
    return {name: _label(frame.sort(MART_KEYS[name]), cards) for name, frame in frames.items()}


def _trips(since: dt.date | None = None) -> str:
    """The staff trips query from the month `since` on (None: the whole period)."""
    return inline(SQL.load("int_staff_trips"), {"since": since or BEFORE_ANY_TRIP})


def _staff_trips(db: Engine | duckdb.DuckDBPyConnection) -> tuple[Engine, pl.DataFrame]:
    """The engine with the views int_staff_trips reads, and the staff cards by number."""
    engine = db if isinstance(db, Engine) else DuckDBEngine(db)
    cards = engine.fetch(SQL.load("stg_staff_cards"))
    engine.register("staff_cards", cards)
    engine.register("rail_distances", rail_distances())
    engine.view("district_codes", SQL.load("int_district_codes"))
    return engine, cards


def _label(frame: pl.DataFrame, cards: pl.DataFrame) -> pl.DataFrame:
    """Swap the card number for the card and its employer (staff_cards numbers them 1..n)."""
    at = frame["card_no"] - 1
    return frame.select(cards["employer_id"].gather(at), cards["card_id"].gather(at), pl.exclude("card_no"))


def build(out: MartWriter) -> None:
    for name, frame in commute_marts(out.engine, since=out.since).items():
        out.frame(name, frame, reuse="month")
