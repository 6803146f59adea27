"""What a report family is to the rest of the workspace: the marts it builds (and documents in
its `marts.toml`), the marts of other families it reads, the views it adds to every
connection, and the named lists its batch entries may use. A family is one package under
pipelines/ (its Python, sql/, config/ and marts.toml); pipelines/families.py registers it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.core import catalog
from pipelines.core.config import ConfigError, check_keys, read_toml
from pipelines.core.engine import DuckDBEngine, Engine, GroupFunction, Months
from pipelines.core.snapshot import Snapshot
from pipelines.core.sql import SqlFolder

Connection = duckdb.DuckDBPyConnection


@dataclass(frozen=True)
class MartColumn:
    name: str
    type: str  # DuckDB type as DESCRIBE reports it
    description: str


@dataclass(frozen=True)
class MartSpec:
    """A published mart as its family documents it."""

    name: str
    description: str
    grain: str  # what one row is
    columns: tuple[MartColumn, ...]


def read_mart_specs(path: Path) -> tuple[MartSpec, ...]:
    """A family's marts.toml: one table per mart with description, grain and columns
    (each column: type and description), in the order the marts are documented."""
    specs = []
    for name, mart in read_toml(path).items():
        where = f"{path}: [{name}]"
        check_keys(mart, ("description", "grain", "columns"), where, required=("description", "grain", "columns"))
        columns = []
        for column, spec in mart["columns"].items():
            check_keys(spec, ("type", "description"), f"{where} column {column}", required=("type", "description"))
            columns.append(MartColumn(column, spec["type"], spec["description"]))
        if not columns:
            raise ConfigError(f"{where}: a mart needs its columns")
        specs.append(MartSpec(name, mart["description"], mart["grain"], tuple(columns)))
    return tuple(specs)


class MartWriter:
    """Where a family writes its marts during `marts.build`: each step becomes a Parquet file
    (published marts into the marts folder, intermediates into a scratch folder that is
    deleted) and a view that later steps, and later families, read by name. The SQL runs on
    `engine` (DuckDB, or Spark: pipelines/core/engine.py); a family asks it for nothing else.

    A mart with a month column (`query(..., reuse=column)`) is written a file per month. When
    the snapshot extends another whose marts are current, `previous` is that snapshot's marts
    folder and `since` the first month the new days touch: such a mart shares the parent's
    month files before it and computes the rest; `earlier` shows a family those kept rows (the
    state a mart carries across months, such as who was seen before)."""

    def __init__(
        self,
        engine: Engine | Connection,
        snapshot: Snapshot,
        folder: Path,
        scratch: Path,
        progress: Callable[[str], None] | None = None,
        previous: Path | None = None,
        since: dt.date | None = None,
    ):
        self.engine = engine if isinstance(engine, Engine) else DuckDBEngine(engine)
        self.snapshot, self.folder, self.scratch = snapshot, folder, scratch
        self.progress = progress
        self.previous, self.since = previous, since
        self.built: dict[str, int] = {}
        self.reused: dict[str, int] = {}

    def _target(self, name: str, kept: bool) -> Path:
        if self.progress:
            self.progress(name)
        folder = self.folder if kept else self.scratch
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{name}.parquet"

    def query(
        self, name: str, sql: str, params: dict[str, Any] | None = None, kept: bool = True, reuse: str | None = None
    ) -> int:
        """Write a query's result as step `name`; returns its rows. `kept` False: an intermediate.
        `reuse`: the mart's month column (a DATE); when extending the parent's marts, the
        parent's rows before `since` are kept and `sql` gives the rest (it may compute only
        those: rows before `since` are dropped from it)."""
        target = self._target(name, kept)
        months = self._months(name, reuse) if reuse else None
        rows, reused = self.engine.write(sql, params, target, months)
        self._count(name, rows, reused, months, kept)
        return rows

    def _count(self, name: str, rows: int, reused: int, months: Months | None, kept: bool) -> None:
        if months is not None and months.extending:
            self.reused[name] = reused
        if kept:
            self.built[name] = rows

    @property
    def extending(self) -> bool:
        """Whether the marts extend the parent's (the new months alone are computed)."""
        return self.previous is not None and self.since is not None

    def _months(self, mart: str, column: str) -> Months:
        if not self.extending:
            return Months(column)
        assert self.previous is not None
        return Months(column, self.previous / f"{mart}.parquet", self.since)

    def computed(self, mart: str, column: str) -> str:
        """The name of a view of the rows of mart `mart` (month column `column`) this build
        computed: when extending, those from `since` on (later steps then aggregate the new
        months alone); else the whole mart."""
        if not self.extending:
            return mart
        name = f"{mart}__computed"
        self.engine.view(name, f'SELECT * FROM "{mart}" WHERE NOT ({self._months(mart, column).before()})')
        return name

    def earlier(self, name: str, mart: str, column: str, columns: Mapping[str, str]) -> None:
        """A view `name` of the rows of the published mart `mart` (month column `column`) that
        come before the months being computed: when extending, the parent's kept rows; else
        none (`columns`, name: DuckDB type, give the empty view its shape)."""
        if self.extending:
            self.engine.earlier(name, self._months(mart, column))
            return
        shape = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in columns.items())
        self.engine.view(name, f"SELECT {shape} WHERE false")

    def frame(self, name: str, frame: pl.DataFrame, reuse: str | None = None, cluster: str | None = None) -> int:
        """Write a Polars frame as the published mart `name`; returns its rows. `reuse`: as for
        `query` (the frame holds the months computed). `cluster`: the column reports select
        by (an employer), each file's rows ordered by it so that they read only theirs."""
        months = self._months(name, reuse) if reuse else None
        rows, reused = self.engine.write_frame(frame, self._target(name, kept=True), months, cluster)
        self._count(name, rows, reused, months, kept=True)
        return rows

    def view(self, name: str, sql: str) -> None:
        """A temporary view of a query (not written), for later steps to read by name."""
        self.engine.view(name, sql)

    def register(self, name: str, frame: pl.DataFrame) -> None:
        """A small Polars frame as a view."""
        self.engine.register(name, frame)

    def fetch(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        """A query's whole result as a Polars frame: for results that fit in memory."""
        return self.engine.fetch(sql, params)

    def per_group(self, sql: str, by: str, function: GroupFunction) -> dict[str, pl.DataFrame]:
        """`function` over a query's rows, whole groups of `by` at a time (Engine.per_group)."""
        return self.engine.per_group(sql, by, function)


def query_list(sql: SqlFolder, name: str, params: dict[str, Any] | None = None) -> Callable[[Connection], list[str]]:
    """A named list for batch files: the first column of a query on the snapshot's tables,
    with `params` bound (one query can then serve several lists)."""

    def resolve(con: Connection) -> list[str]:
        query = sql.load(name)
        return catalog.frame(con, query, catalog.used_params(query, params or {})).to_series().to_list()

    return resolve


@dataclass(frozen=True)
class Family:
    name: str  # the package's, the notebook's and the batch entries' name
    title: str
    package: Path  # the family's folder
    build: Callable[[MartWriter], None]  # writes the family's marts (documented in marts.toml)
    reads: tuple[str, ...] = ()  # marts of other families it reads, by name, through their views
    views: Mapping[str, str] = field(default_factory=dict)  # views (name: query) it adds to every connection
    lists: Mapping[str, Callable[[Connection], list[str]]] = field(default_factory=dict)
    #: Scenes whose events the family's reports stand on; a snapshot without any of them (an
    #: operator that does not run that scene) gets none of its reports.
    scenes: tuple[str, ...] = ()
    #: Checks a report's parameters (the notebook's defaults with a batch's values) against the
    #: snapshot before anything runs; raises ValueError naming the parameter.
    check: Callable[[Connection, Snapshot, dict[str, Any]], None] | None = None
    #: For families whose reports publish differentially private figures: opens the releases of
    #: a batch's reports of the family (their parameters; True: new revisions with fresh
    #: figures), charging the privacy ledger before anything runs, and returns the release ID
    #: the runner passes to each of them as the parameter `release` (None: none to pass).
    release: Callable[[Connection, Snapshot, str, list[dict[str, Any]], bool], str | None] | None = None
    #: Its report notebook in notebooks/, when not named after the family.
    notebook: str = ""

    @property
    def notebook_name(self) -> str:
        return self.notebook or f"{self.name}.ipynb"

    @property
    def marts(self) -> tuple[MartSpec, ...]:
        return read_mart_specs(self.package / "marts.toml")
