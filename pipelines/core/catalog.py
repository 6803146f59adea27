"""One way to query a snapshot: an in-memory DuckDB connection with a view per table.

In-memory connections over Parquet never lock a database file, so JupyterLab and a scheduled
run can read the same snapshot at once. DuckDB settings live here and nowhere else.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.core.paths import data_dir
from pipelines.core.schema import TABLES
from pipelines.core.snapshot import Snapshot
from pipelines.core.workers import usable_cores


@dataclass(frozen=True)
class DuckDBSettings:
    memory_limit: str
    threads: int
    temp_directory: str


def settings() -> DuckDBSettings:
    """Memory limit at half the RAM (DuckDB spills past it), the cores this process may use
    (`workers.usable_cores`), temp files under data/.

    Half, not DuckDB's own 80 %: what DuckDB does not count (Python, Arrow results handed to
    polars) must fit beside it; at 60 % the operator-sized marts (scale 600) reached 14.2 GB
    on a 24 GiB machine, against a goal of 16 GB (#20).

    Override with CARD_INSIGHTS_DUCKDB_MEMORY (e.g. "2GB") and CARD_INSIGHTS_DUCKDB_THREADS.
    """
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return DuckDBSettings(
        memory_limit=os.environ.get("CARD_INSIGHTS_DUCKDB_MEMORY", f"{max(1, int(ram_gb * 0.5))}GB"),
        threads=int(os.environ.get("CARD_INSIGHTS_DUCKDB_THREADS", usable_cores())),
        temp_directory=str(data_dir() / ".duckdb_tmp"),
    )


def configure(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    s = settings()
    con.execute(f"SET memory_limit = '{s.memory_limit}'")
    con.execute(f"SET threads = {int(s.threads)}")
    con.execute(f"SET temp_directory = {sql_literal(s.temp_directory)}")
    # Output order is fixed by ORDER BY in every query a person or test reads; dropping
    # insertion order lets DuckDB stream large scans with less memory.
    con.execute("SET preserve_insertion_order = false")
    # Progress bars would land in logs; our CLIs draw their own. Inside Jupyter without
    # ipywidgets DuckDB draws none and refuses to change the setting at all.
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")
    return con


def connect(snapshot: Snapshot | str | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection with one view per table of `snapshot` (default: the latest)
    and `period_months`, the months of its period and whether each is covered in full."""
    snap = snapshot if isinstance(snapshot, Snapshot) else Snapshot.open(snapshot)
    con = configure(duckdb.connect(":memory:"))
    for spec in TABLES:
        # The file list reaches DuckDB as a bound value: a view over a list written into its
        # SQL took 40-70 ms to parse and bind at 1,440 files (a table of six months at the
        # operator's size), through a variable 9-15 ms, and every report binds every table.
        # The view reads exactly these files and fails on a missing one; on a cursor, which
        # has no variables, it fails too ("cannot take NULL list").
        con.execute(f"SET VARIABLE {_files(spec.name)} = $files", {"files": snap.file_paths(spec.name)})
        con.execute(f"CREATE VIEW \"{spec.name}\" AS SELECT * FROM read_parquet(getvariable('{_files(spec.name)}'))")
    con.register("period_months", snap.months().to_arrow())
    return con


def _files(table: str) -> str:
    """The DuckDB variable that holds a table's file list."""
    return f"card_insights_files_{table}"


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor on a `connect` connection (the same views, its own registrations) whose views
    read the snapshot: variables, which hold the views' file lists, belong to a connection."""
    cur = con.cursor()
    for spec in TABLES:
        # fetchall: a half-fetched result would block the connection's next query
        files = con.execute(f"SELECT getvariable('{_files(spec.name)}')").fetchall()[0][0]
        cur.execute(f"SET VARIABLE {_files(spec.name)} = $files", {"files": files})
    return cur


def frame(con: duckdb.DuckDBPyConnection, query: str, params: list | dict | None = None) -> pl.DataFrame:
    """Run a query with bound parameters and return the whole result as a Polars frame.

    DuckDB 2.0 results of execute() have no .pl() and copy rows on the way to Arrow, and a
    half-fetched result blocks the next query on the connection; a relation fetched whole
    through Arrow avoids all three.
    """
    return pl.from_arrow(con.sql(query, params=params).to_arrow_table())


def used_params(query: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The named parameters a statement uses: DuckDB refuses any it does not."""
    return {k: v for k, v in params.items() if re.search(rf"\${re.escape(k)}\b", query)} or None


def parquet_source(files: Sequence[str | Path]) -> str:
    """read_parquet over exactly these files (DDL cannot take bound parameters; the paths come
    from a manifest under a validated snapshot ID, quoted as literals)."""
    return f"read_parquet([{', '.join(sql_literal(str(f)) for f in files)}])"


def parquet_path(path: Path) -> str:
    """A Parquet file, or a folder of part files (as Spark writes a mart), as read_parquet
    takes it."""
    return str(path / "*.parquet") if path.is_dir() else str(path)


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path, params: list | dict | None = None) -> int:
    """Write a query's result to one zstd Parquet file; returns the number of rows."""
    copy = f"COPY ({query}) TO {sql_literal(str(target))} (FORMAT parquet, COMPRESSION zstd)"
    return con.execute(copy, params).fetchone()[0]
