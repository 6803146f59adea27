"""What each table holds, for the data-quality page: its rows, the count and share of empty
values in every column that may be empty, and the lowest and highest value of every number,
date and time column (amounts, fares, distances, birth years, dates), from one scan per table.

A monthly extension scans its new days alone and adds them to its parent's profile: the rest
of its rows are the parent's files, which the parent's profile describes already.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from pipelines.core.schema import TABLES, Table

RANGED = ("int32", "int64", "float64", "date", "timestamp")
NUMBERS = ("int32", "int64", "float64")


def profile(
    con: duckdb.DuckDBPyConnection,
    available: set[str],
    batches: Mapping[str, str] | None = None,
    earlier: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """One entry per table with a view on `con`: table, rows, and per profiled column its
    empty count and share (percent, or None when the column may not be empty), min and max.
    `batches`: per event table of an extension, the view of its new days; with `earlier`, the
    parent's profile, only those are scanned."""
    before = {entry["table"]: entry for entry in earlier}
    out = []
    for table in TABLES:
        if table.name not in available:
            continue
        # A table that lost a column fails its own rule; the profile shows what is there.
        present = {d[0] for d in con.execute(f'SELECT * FROM "{table.name}" LIMIT 0').description}
        columns = [c for c in table.columns if (c.nullable or c.dtype in RANGED) and c.name in present]
        parent = before.get(table.name)
        batch = (batches or {}).get(table.name)
        names = [c.name for c in columns]
        if batch and parent and [c["column"] for c in parent["columns"]] == names:
            out.append(_add(table, parent, _scan(con, table, batch, columns)))
        else:
            out.append(_scan(con, table, table.name, columns))
    return out


def _scan(con: duckdb.DuckDBPyConnection, table: Table, view: str, columns: list) -> dict[str, Any]:
    # Names come from the schema, never from input: safe to place in the query.
    parts = ["count(*)"]
    for c in columns:
        parts += [f'count(*) - count("{c.name}")', f'min("{c.name}")', f'max("{c.name}")']
    row = con.execute(f'SELECT {", ".join(parts)} FROM "{view}"').fetchall()[0]
    rows = row[0]
    entry: dict[str, Any] = {"table": table.name, "rows": rows, "columns": []}
    for i, c in enumerate(columns):
        empty, low, high = row[1 + 3 * i : 4 + 3 * i]
        entry["columns"].append(
            {
                "column": c.name,
                "empty": empty,
                "empty_pct": _pct(empty, rows) if c.nullable else None,
                "min": None if c.dtype not in RANGED or low is None else str(low),
                "max": None if c.dtype not in RANGED or high is None else str(high),
            }
        )
    return entry


def _pct(empty: int, rows: int) -> float | None:
    return round(100 * empty / rows, 2) if rows else None


def _add(table: Table, parent: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The profile of the parent's rows and the new ones together."""
    specs = {c.name: c for c in table.columns}
    rows = parent["rows"] + new["rows"]
    columns = []
    for old, add in zip(parent["columns"], new["columns"], strict=True):
        # Numbers compare as numbers; dates and times as their ISO text, which sorts as they do.
        spec = specs[old["column"]]
        key = float if spec.dtype in NUMBERS else str
        lows = [v for v in (old["min"], add["min"]) if v is not None]
        highs = [v for v in (old["max"], add["max"]) if v is not None]
        empty = old["empty"] + add["empty"]
        columns.append(
            {
                "column": old["column"],
                "empty": empty,
                "empty_pct": _pct(empty, rows) if spec.nullable else None,
                "min": min(lows, key=key) if lows else None,
                "max": max(highs, key=key) if highs else None,
            }
        )
    return {"table": table.name, "rows": rows, "columns": columns}
