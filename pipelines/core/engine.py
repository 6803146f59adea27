"""Where a family's mart SQL runs: the engine a `MartWriter` writes through.

Every mart is defined once, in DuckDB's dialect (the families' sql/ folders). `DuckDBEngine`
runs that SQL as it is; `pipelines.spark.SparkEngine` transpiles it and runs it on Apache Spark.
A family's build talks to the engine only through these few calls, so it never knows which
engine it runs on; the one step that is not SQL (commute detection, a Polars function per staff
card) reaches the engine as `per_group`, which each engine runs its own way.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
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

#: Rows per Parquet row group of a mart written clustered by a key (`write_frame(cluster=...)`):
#: its rows ordered by the key, a report's query for one value reads a few groups of each
#: file and skips the rest by their min and max, instead of the whole mart (#20: a carbon
#: report's two queries took 0.5 s each at 6 million members, reading every employer's rows).
CLUSTERED_ROW_GROUP = 16_384


@dataclass(frozen=True)
class Months:
    """A mart with a month column (a DATE), written a file per month so that an extension can
    share its parent's months; when extending, the parent's rows before `since` are kept and
    the query gives the rest."""

    column: str
    previous: Path | None = None  # the parent's Parquet of the mart, when extending it
    since: dt.date | None = None

    @property
    def extending(self) -> bool:
        return self.previous is not None and self.since is not None

    def before(self) -> str:
        """The condition on the parent's rows that are kept."""
        return f"{self.column} < DATE '{self.since}'"


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
        self, sql: str, params: dict[str, Any] | None, target: Path, months: Months | None = None
    ) -> tuple[int, int]:
        """Write a query's result as Parquet at `target` and make it the view named after the
        file's stem; returns (rows written, rows of them reused from the parent)."""
        raise NotImplementedError

    def earlier(self, name: str, months: Months) -> None:
        """A view `name` of the rows of the parent's mart (`months.previous`) that an extension
        keeps: those before `months.since`."""
        raise NotImplementedError

    def write_frame(
        self, frame: pl.DataFrame, target: Path, months: Months | None = None, cluster: str | None = None
    ) -> tuple[int, int]:
        """Write a Polars frame as Parquet at `target`, with a view named after its stem, as
        `write` writes a query's result; `cluster`: a column to order each file's rows by, in
        row groups of CLUSTERED_ROW_GROUP rows."""
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
        self, sql: str, params: dict[str, Any] | None, target: Path, months: Months | None = None
    ) -> tuple[int, int]:
        return self._write(sql, params, target, months, None)

    def _write(
        self, sql: str, params: dict[str, Any] | None, target: Path, months: Months | None, cluster: str | None
    ) -> tuple[int, int]:
        bound = catalog.used_params(sql, params or {})
        if months is None:
            rows = catalog.write_parquet(self.con, sql, target, bound)
            self._view(catalog.sql_literal(str(target)), target.stem)
            return rows, 0
        target.mkdir(parents=True)
        reused = 0
        if months.extending:
            reused = self._keep_earlier(months, target)
            sql = f"SELECT * FROM ({sql}) WHERE NOT ({months.before()})"
        rows = self._write_months(sql, bound, months.column, target, cluster)
        self._view(catalog.sql_literal(catalog.parquet_path(target)), target.stem)
        return rows + reused, reused

    def _keep_earlier(self, months: Months, target: Path) -> int:
        """The parent's months before `since` into `target`: its month files hard-linked (they
        never change), any other file's earlier rows copied (a parent Spark built). Returns the
        rows kept."""
        assert months.previous is not None and months.since is not None
        files = sorted(months.previous.glob("*.parquet")) if months.previous.is_dir() else [months.previous]
        linked, other = [], []
        for path in files:
            month = _month_of(path)
            if month is None:
                other.append(path)
            elif month < months.since:
                os.link(path, target / path.name)
                linked.append(path)
        kept = 0
        if linked:
            names = ", ".join(catalog.sql_literal(str(p)) for p in linked)
            kept = self.con.execute(f"SELECT count(*) FROM read_parquet([{names}])").fetchone()[0]
        if other:
            names = ", ".join(catalog.sql_literal(str(p)) for p in other)
            old = f"SELECT * FROM read_parquet([{names}]) WHERE {months.before()}"
            kept += self._write_months(old, None, months.column, target)
        return kept

    def _write_months(self, sql: str, params: Any, column: str, target: Path, cluster: str | None = None) -> int:
        """A query's rows into `target`, a file per value of `column` named after it
        (2025-06-01.parquet), each ordered by `cluster` if given; a query without rows writes
        its empty schema as none.parquet, so the folder always reads as the mart."""
        staging = target / ".months"
        rows_sql, groups = sql, ""
        if cluster:
            rows_sql, groups = f'SELECT * FROM ({sql}) ORDER BY "{cluster}"', f", ROW_GROUP_SIZE {CLUSTERED_ROW_GROUP}"
        copy = (
            f"COPY ({rows_sql}) TO {catalog.sql_literal(str(staging))} "
            f"(FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({column}), WRITE_PARTITION_COLUMNS true{groups})"
        )
        rows = self.con.execute(copy, params).fetchone()[0]
        for folder in sorted(staging.glob(f"{column}=*")):
            month = dt.date.fromisoformat(folder.name.split("=", 1)[1])
            parts = sorted(folder.glob("*.parquet"))
            if len(parts) == 1:
                parts[0].rename(target / f"{month}.parquet")
            else:
                names = ", ".join(catalog.sql_literal(str(p)) for p in parts)
                catalog.write_parquet(self.con, f"SELECT * FROM read_parquet([{names}])", target / f"{month}.parquet")
        shutil.rmtree(staging, ignore_errors=True)
        if not any(target.glob("*.parquet")):
            catalog.write_parquet(self.con, f"SELECT * FROM ({sql}) LIMIT 0", target / "none.parquet", params)
        return rows

    def earlier(self, name: str, months: Months) -> None:
        assert months.previous is not None
        source = catalog.sql_literal(catalog.parquet_path(months.previous))
        rows = f"SELECT * FROM read_parquet({source}) WHERE {months.before()}"
        self.con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {rows}')

    def write_frame(
        self, frame: pl.DataFrame, target: Path, months: Months | None = None, cluster: str | None = None
    ) -> tuple[int, int]:
        if months is not None:
            self.con.register(f"{target.stem}__frame", frame.to_arrow())
            try:
                return self._write(f'SELECT * FROM "{target.stem}__frame"', None, target, months, cluster)
            finally:
                self.con.unregister(f"{target.stem}__frame")
        write_clustered(frame, target, cluster)
        self._view(catalog.sql_literal(str(target)), target.stem)
        return frame.height, 0

    def _view(self, source: str, name: str) -> None:
        self.con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM read_parquet({source})')

    def per_group(self, sql: str, by: str, function: GroupFunction) -> dict[str, pl.DataFrame]:
        return dict(function(self.fetch(sql)))


def _month_of(path: Path) -> dt.date | None:
    """The month a mart's month file holds (its name, as Months writes it), else None."""
    try:
        return dt.date.fromisoformat(path.stem)
    except ValueError:
        return None


def write_clustered(frame: pl.DataFrame, target: Path, cluster: str | None) -> None:
    """A frame as one zstd Parquet file, ordered by `cluster` in small row groups if given."""
    if cluster is None:
        frame.write_parquet(target, compression="zstd")
    else:
        frame.sort(cluster, maintain_order=True).write_parquet(
            target, compression="zstd", row_group_size=CLUSTERED_ROW_GROUP
        )
