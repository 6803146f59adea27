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
from pipelines.core.period import month_starts, next_month
from pipelines.core.sql import SqlFolder, inline

SQL = SqlFolder.beside(__file__)
#: What one row of each mart is, by card number (the order the marts are written in).
MART_KEYS = {"commute_days": ("card_no", "month"), "commute_pkm": ("card_no", "month", "mode")}
#: Bounds for the whole period (ISO dates before year 1000 do not parse everywhere).
BEFORE_ANY_TRIP, AFTER_ANY_TRIP = dt.date(1970, 1, 1), dt.date(9999, 1, 1)
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
    db: Engine | duckdb.DuckDBPyConnection,
    rule: CommuteRule | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> dict[str, pl.DataFrame]:
    """commute_days and commute_pkm, for all employers at once. Given the months `since` to
    `until` (their first days), one month at a time: a month's commutes stand on its own trips
    (detect.py), so memory holds one month's staff trips whatever the history; None: the whole
    period at once. Detection runs per staff card (each card's result depends on its own trips
    alone), so an engine may split the cards among its workers; aggregating by card number
    before naming the cards keeps this fast."""
    rule = rule or load_rule()
    engine, cards = _staff_trips(db)
    months = [(since, None)] if since is None or until is None else _months(since, until)
    parts = [
        engine.per_group(_trips(lo, hi), "card_no", lambda trips: summarise(detect(trips, rule), "card_no"))
        for lo, hi in months
    ]
    frames = {name: pl.concat([p[name] for p in parts]) for name in parts[0]}
    return {name: _label(frame.sort(MART_KEYS[name]), cards) for name, frame in frames.items()}


def _trips(since: dt.date | None = None, until: dt.date | None = None) -> str:
    """The staff trips query from `since` to before `until` (None: without that bound)."""
    return inline(SQL.load("int_staff_trips"), {"since": since or BEFORE_ANY_TRIP, "until": until or AFTER_ANY_TRIP})


def _months(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The first day of each month that overlaps `first`..`last`, with the next month's."""
    return [(m, next_month(m)) for m in month_starts(first, last)]


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
    first = out.since or out.snapshot.start
    for name, frame in commute_marts(out.engine, since=first, until=out.snapshot.end).items():
        out.frame(name, frame, reuse="month", cluster="employer_id")
