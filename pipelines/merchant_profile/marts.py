"""The merchant family's marts: merchant_month (headline per merchant unit and month) and
merchant_cells (every distribution a profile shows, per unit and month), aggregates only.

The intermediates run on integer unit and customer keys and are never published:
int_merchant_paid and int_merchant_visits hold the customers of each merchant, which no mart
may. merchant_cells reads the segment family's `rfm` mart (declared in FAMILY.reads).
"""

from __future__ import annotations

from pipelines.core.family import MartWriter
from pipelines.core.sql import SqlFolder

SQL = SqlFolder.beside(__file__)

#: (view name, SQL file) of the intermediates, in the order they are built.
INTERMEDIATES = (
    ("merchant_units", "int_merchant_units"),
    ("merchant_customers", "int_merchant_customers"),
    ("merchant_paid", "int_merchant_paid"),
    ("merchant_visits", "int_merchant_visits"),
)
CELL_STEPS = (
    ("merchant_customer_cells", "int_merchant_customer_cells"),
    ("merchant_hour_cells", "int_merchant_hour_cells"),
    ("merchant_cross_cells", "int_merchant_cross_cells"),
)


def build(out: MartWriter) -> None:
    for name, query in INTERMEDIATES:
        out.query(name, SQL.load(query), kept=False)
    out.query("merchant_month", SQL.load("mart_merchant_month"))
    period_start = {"period_start": out.snapshot.start.isoformat()}
    for name, query in CELL_STEPS:
        params = period_start if name == "merchant_customer_cells" else None
        out.query(name, SQL.load(query), params, kept=False)
    out.query("merchant_cells", SQL.load("mart_merchant_cells"))
