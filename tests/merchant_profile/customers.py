"""Crafted customers of crafted merchants, as the customer-level merchant marts hold them, and
releases of their reports: what the tests of the merchant profile and the attacker start from.

A person is described the way merchant_customer_month describes a customer (units visited,
month, demographics, visits); the exact marts merchant_month and merchant_cells are worked
out from them by the family's own SQL, as `marts.build` does."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from pipelines.core import catalog
from pipelines.merchant_profile.marts import EXACT as EXACT_CAPS
from pipelines.merchant_profile.marts import aggregate
from pipelines.merchant_profile.profile import Profile, profile_of
from pipelines.merchant_profile.release import ReleaseFigures, compute, report_units, unit_of
from pipelines.privacy.accounting import load_privacy
from pipelines.privacy.release import Release

#: A release without noise or contribution bounds that would bind on crafted data: for the
#: tests of the figures themselves (the noise is below a millionth of a customer).
EXACT = Release(
    "exact",
    dataclasses.replace(
        load_privacy(), sigma=1e-7, max_units=1000, max_visits=1000, max_spend_ntd=100_000, max_hours=168
    ),
    b"test",
)


@dataclass(frozen=True)
class Person:
    units: tuple[str, ...]  # outlets (S...) and chains (B...) visited
    month: dt.date
    gender: str = "M"
    age_band: str = "30-39"
    visits: int = 2
    amount_ntd: int = 200
    customer_type: str = "returning"
    hours: tuple[str, ...] = ("1-08",)
    key: int = 0  # the customer (and the seed of their pick); 0: their place in the list


def pick(customer: int, unit: int, month: dt.date) -> int:
    """The pseudo-random number by which a release chooses a customer's units (any fixed
    function of the customer's own identity will do; the marts hash the member's ID)."""
    return int.from_bytes(hashlib.md5(f"{customer} {unit} {month}".encode()).digest()[:8], "little")


def people(n: int, units: Sequence[str], month: dt.date, **described) -> list[Person]:
    return [Person(tuple(units), month, **described) for _ in range(n)]


@dataclass(frozen=True)
class Unit:
    unit_id: str
    category: str = "pharmacy"
    district_id: str = "D1"
    chain: str | None = None  # an outlet's brand


DISTRICTS = pl.DataFrame({"district_id": ["D1"], "name_en": ["One"], "lon": [120.3], "lat": [22.6]})


def customer_marts(
    persons: list[Person], units: Sequence[Unit] = (), districts: pl.DataFrame = DISTRICTS
) -> duckdb.DuckDBPyConnection:
    """A connection with the merchant register, the customer-level marts of `persons` and the
    exact marts worked out from them. Units not listed are pharmacies in D1, outlets of no chain."""
    known = {u.unit_id: u for u in units}
    for p in persons:
        for unit_id in p.units:
            known.setdefault(unit_id, Unit(unit_id))
    # A unit's key is its ID's number, as the register fixes it whoever bought there: keys
    # numbered over the units someone bought at would shift when one customer leaves, and with
    # them every other customer's pick of units.
    keys = {u: (-int(u[1:]) if u.startswith("B") else int(u[1:])) for u in known}
    register = pl.DataFrame(
        [
            (
                keys[u.unit_id],
                "chain" if u.unit_id.startswith("B") else "outlet",
                u.unit_id,
                u.unit_id,
                u.category,
                u.district_id,
                keys.get(u.chain),
            )
            for u in known.values()
        ],
        schema={
            "unit": pl.Int32,
            "level": pl.String,
            "unit_id": pl.String,
            "unit_name": pl.String,
            "category": pl.String,
            "district_id": pl.String,
            "chain": pl.Int32,
        },
        orient="row",
    )
    rows, hours = [], []
    for i, p in enumerate(persons, start=1):
        customer = p.key or i
        frequency = {1: "1", 2: "2"}.get(p.visits, "3-4" if p.visits <= 4 else "5+")
        for unit_id in p.units:
            rows.append(
                (
                    keys[unit_id],
                    customer,
                    p.month,
                    p.visits,
                    p.amount_ntd,
                    frequency,
                    p.customer_type,
                    p.age_band,
                    p.gender,
                    "One",
                    "Champions",
                    "nothing elsewhere",
                    pick(customer, keys[unit_id], p.month),
                )
            )
            for hour in p.hours:
                day, h = hour.split("-")
                hours.append((keys[unit_id], customer, p.month, int(day), int(h), p.visits, p.amount_ntd))
    con = duckdb.connect()
    frames = {
        "merchant_units": register,
        "merchant_customer_month": pl.DataFrame(
            rows,
            schema={
                "unit": pl.Int32,
                "customer": pl.Int32,
                "month": pl.Date,
                "visits": pl.Int64,
                "amount_ntd": pl.Int64,
                "visit_frequency": pl.String,
                "customer_type": pl.String,
                "age_band": pl.String,
                "gender": pl.String,
                "home_district": pl.String,
                "segment": pl.String,
                "cross_category": pl.String,
                "pick": pl.UInt64,
            },
            orient="row",
        ),
        "merchant_customer_hours": pl.DataFrame(
            hours,
            schema={
                "unit": pl.Int32,
                "customer": pl.Int32,
                "month": pl.Date,
                "dow": pl.Int8,
                "hour": pl.Int8,
                "purchases": pl.Int64,
                "amount_ntd": pl.Int64,
            },
            orient="row",
        ),
        "merchants": pl.DataFrame(
            [(u.unit_id, u.chain) for u in known.values() if not u.unit_id.startswith("B")],
            schema={"merchant_id": pl.String, "brand_id": pl.String},
            orient="row",
        ),
        "districts": districts,
        "rfm": pl.DataFrame({"segment": ["Champions"]}),
    }
    for name, frame in frames.items():
        con.register(name, frame.to_arrow())

    def step(name: str, sql: str, params: dict, kept: bool = True) -> None:
        con.execute(f"CREATE TABLE {name} AS {sql}", catalog.used_params(sql, params))

    aggregate(step, "merchant", "merchant_customer_month", "merchant_customer_hours", EXACT_CAPS)
    return con


def release_of(
    con: duckdb.DuckDBPyConnection, release: Release, reports: Sequence[tuple[str, str]], peer_scope: str = "auto"
) -> ReleaseFigures:
    """One release of the reports (merchant, YYYY-MM): their units and their peers."""
    items = sorted(
        {(u, month) for merchant, month in reports for u in report_units(con, unit_of(con, merchant), peer_scope)[1]}
    )
    return compute(con, release, items)


def published(
    con: duckdb.DuckDBPyConnection, release: Release, merchant: str, month: str, peer_scope: str = "auto"
) -> Profile:
    """A report run on its own: its release holds it and its peers."""
    return profile_of(con, release_of(con, release, [(merchant, month)], peer_scope), merchant, month, peer_scope)
