"""What each table holds, for the data-quality page: its rows, the share of empty values in
every column that may be empty, and the lowest and highest value of every number, date and
time column (amounts, fares, distances, birth years, dates), from one scan per table."""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.core.schema import TABLES

RANGED = ("int32", "int64", "float64", "date", "timestamp")


def profile(con: duckdb.DuckDBPyConnection, available: set[str]) -> list[dict[str, Any]]:
    """One entry per table with a view on `con`: table, rows, and per profiled column its
    empty share (percent, or None when the column may not be empty), min and max."""
    out = []
    for table in TABLES:
        if table.name not in available:
            continue
        # A table that lost a column fails its own rule; the profile shows what is there.
        present = {d[0] for d in con.execute(f'SELECT * FROM "{table.name}" LIMIT 0').description}
        columns = [c for c in table.columns if (c.nullable or c.dtype in RANGED) and c.name in present]
        # Names come from the schema, never from input: safe to place in the query.
        parts = ["count(*)"]
        for c in columns:
            parts += [f'count(*) - count("{c.name}")', f'min("{c.name}")', f'max("{c.name}")']
        row = con.execute(f'SELECT {", ".join(parts)} FROM "{table.name}"').fetchone()
        rows = row[0]
        entry: dict[str, Any] = {"table": table.name, "rows": rows, "columns": []}
        for i, c in enumerate(columns):
            empty, low, high = row[1 + 3 * i : 4 + 3 * i]
            entry["columns"].append(
                {
                    "column": c.name,
                    "empty_pct": round(100 * empty / rows, 2) if c.nullable and rows else None,
                    "min": None if c.dtype not in RANGED or low is None else str(low),
                    "max": None if c.dtype not in RANGED or high is None else str(high),
                }
            )
        out.append(entry)
    return out
