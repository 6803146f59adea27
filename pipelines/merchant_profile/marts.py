"""The merchant family's marts: merchant_month (headline per merchant unit and month) and
merchant_cells (every distribution a profile shows, per unit and month), exact aggregates for
the operator's own analysts; and, at customer level for releases only, merchant_units (unit
keys), merchant_customer_month and merchant_customer_hours.

No report reads the exact aggregates: a merchant report publishes what its release computes
from the customer-level marts, each member's contribution bounded across the release's units
and noise added (pipelines/merchant_profile/release.py). The same SQL aggregates both ways
(over every customer, or over those a release counts, with caps). merchant_customer_month
reads the segment family's `rfm` mart (declared in FAMILY.reads).

Every mart but merchant_units has a month, and an extension of a snapshot computes its new
months alone: the keys follow the IDs, so they hold across snapshots, and merchant_first_visits
carries who was seen before. Old months keep the register as it was when they were built (a
member's home district, an outlet's name): `marts --force` rebuilds them with the current one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pipelines.core.family import MartWriter, read_mart_specs
from pipelines.core.sql import SqlFolder

SQL = SqlFolder.beside(__file__)
MARTS_TOML = Path(__file__).with_name("marts.toml")

#: Exact figures: every customer counted in full.
EXACT: dict[str, Any] = {"max_visits": None, "max_spend_ntd": None}


def build(out: MartWriter) -> None:
    first = out.since or out.snapshot.start
    since = {"since": dt.date(first.year, first.month, 1).isoformat()}
    out.query("merchant_units", SQL.load("mart_merchant_units"))
    out.query("merchant_customers", SQL.load("int_merchant_customers"), kept=False)
    out.query("merchant_payers", SQL.load("int_merchant_payers"), kept=False)
    out.query("merchant_paid", SQL.load("int_merchant_paid"), since, kept=False)
    out.query("merchant_visits", SQL.load("int_merchant_visits"), kept=False)
    state = next(m for m in read_mart_specs(MARTS_TOML) if m.name == "merchant_first_visits")
    out.earlier("merchant_seen_before", state.name, "first_month", {c.name: c.type for c in state.columns})
    out.query(state.name, SQL.load("mart_merchant_first_visits"), reuse="first_month")
    period = since | {"period_start": out.snapshot.start.isoformat()}
    out.query("merchant_customer_month", SQL.load("mart_merchant_customer_month"), period, reuse="month")
    out.query("merchant_customer_hours", SQL.load("mart_merchant_customer_hours"), reuse="month")

    def monthly(name: str, sql: str, params: dict[str, Any], kept: bool = True) -> int:
        return out.query(name, sql, params, kept=kept, reuse="month" if kept else None)

    customers, hours = (out.computed(name, "month") for name in ("merchant_customer_month", "merchant_customer_hours"))
    aggregate(monthly, "merchant", customers, hours, EXACT, kept=False)


def aggregate(
    step: Any, prefix: str, customer_rows: str, hour_rows: str, caps: dict[str, Any], kept: bool = True
) -> None:
    """`{prefix}_month` and `{prefix}_cells` from customer and hour rows, with `caps`, each
    through `step(name, sql, params, kept=...)` (MartWriter.query, or a release's writer).
    The hour rows are counted as given: a bounded release passes each customer's max_hours
    hours alone (rpt_release_hours)."""
    rows = {"customer_rows": customer_rows, **caps}
    step(f"{prefix}_month", SQL.load("mart_merchant_month"), rows)
    step(f"{prefix}_customer_cells", SQL.load("int_merchant_customer_cells"), rows, kept=kept)
    step(f"{prefix}_hour_cells", SQL.load("int_merchant_hour_cells"), {"hour_rows": hour_rows, **caps}, kept=kept)
    cells = {"customer_cells": f"{prefix}_customer_cells", "hour_cells": f"{prefix}_hour_cells"}
    step(f"{prefix}_cells", SQL.load("mart_merchant_cells"), cells)
