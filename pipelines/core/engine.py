"""Where a family's mart SQL runs: the engine a `MartWriter` writes through.

Every mart is defined once, in DuckDB's dialect (the families' sql/ folders). `DuckDBEngine`
runs that SQL as it is; `pipelines.spark.SparkEngine` transpiles it and runs it on Apache Spark.
A family's build talks to the engine only through these few calls, so it never knows which
engine it runs on; the one step that is not SQL (commute detection, a Polars function per staff
card) reaches the engine as `per_group`, which each engine runs its own way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.core import catalog

#: What the SQL of the marts and the gate can run on: DuckDB in this process, or Apache Spark
#: (pipelines/spark/).
ENGINES = ("duckdb", "spark")


class QueryError(Exception):
    """A query an engine other than DuckDB could not run (DuckDB raises its own errors)."""


#: What a query may raise, whichever engine runs it.
QUERY_ERRORS: tuple[type[Exception], ...] = (duckdb.Error, QueryError)

#: Runs on a frame holding every row of some whole groups; returns named frames.
GroupFunction = Callable[[pl.DataFrame], Mapping[str, pl.DataFrame]]


@dataclass(frozen=True)
class Reuse:
    """A mart extended from its parent's: the parent's rows with `column` before `since` are
    kept, the query gives the rest."""

    previous: Path  # the parent's Parquet of the mart
    column: str  # its month column (a DATE)
    since: dt.date


class Engine:
    """What a family's build may ask of the engine that runs its SQL (DuckDB dialect)."""

    def view(self, name: str, sql: str) -> None:
        """A temporary view of a query, for later steps to read by name."""
        raise NotImplementedError

    def register(self, name: str, frame: pl.DataFrame) -> None:
        """A small Polars frame (configuration, a reference table) as a view."""
        raise NotImplementedError

    def fetch(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        """A query's whole result in Python: only for results that fit in memory."""
        raise NotImplementedError

    def write(
        self, sql: str, params: dict[str, Any] | None, target: Path, reuse: Reuse | None = None
    ) -> tuple[int, int]:
        """Write a query's result as Parquet at `target` and make it the view named after the
        file's stem; returns (rows written, rows of them reused from the parent)."""
        raise NotImplementedError

    def write_frame(self, frame: pl.DataFrame, target: Path) -> None:
        """Write a Polars frame as Parquet at `target`, with a view named after its stem."""
        raise NotImplementedError

    def per_group(self, sql: str, by: str, function: GroupFunction) -> dict[str, pl.DataFrame]:
        """`function` over the rows of a query, each call given every row of the groups (values
        of `by`) it sees; the frames it returns, concatenated by name. Only for a function whose
        result for a group depends on that group's rows alone."""
        raise NotImplementedError


class DuckDBEngine(Engine):
    """The snapshot's DuckDB connection (catalog.connect): the SQL runs as written."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {sql}')

    def register(self, name: str, frame: pl.DataFrame) -> None:
        self.con.register(name, frame.to_arrow())

    def fetch(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        return catalog.frame(self.con, sql, catalog.used_params(sql, params or {}))

    def write(
        self, sql: str, params: dict[str, Any] | None, target: Path, reuse: Reuse | None = None
    ) -> tuple[int, int]:
        reused = 0
        if reuse is not None:
            parent = catalog.sql_literal(catalog.parquet_path(reuse.previous))
            old = f"read_parquet({parent}) WHERE {reuse.column} < DATE '{reuse.since}'"
            reused = self.con.execute(f"SELECT count(*) FROM {old}").fetchone()[0]
            new = f"SELECT * FROM ({sql}) WHERE {reuse.column} >= DATE '{reuse.since}'"
            sql = f"SELECT * FROM {old} UNION ALL BY NAME {new}"
        rows = catalog.write_parquet(self.con, sql, target, catalog.used_params(sql, params or {}))
        self._view(target)
        return rows, reused

    def write_frame(self, frame: pl.DataFrame, target: Path) -> None:
        frame.write_parquet(target, compression="zstd")
        self._view(target)

    def _view(self, target: Path) -> None:
        source = catalog.sql_literal(str(target))
        self.con.execute(f'CREATE OR REPLACE VIEW "{target.stem}" AS SELECT * FROM read_parquet({source})')

    def per_group(self, sql: str, by: str, function: GroupFunction) -> dict[str, pl.DataFrame]:
        return dict(function(self.fetch(sql)))
