"""A Spark session that answers the gate as its DuckDB connection does (pipelines/quality/).

The gate compiles its suites into DuckDB SQL: one aggregate scan per table, plus small derived
check tables (volumes, drift, the campaign draws). `SparkConnection` takes that same SQL,
transpiles it (transpile.py) and runs it on Spark, so the suites, their conformance test
against GX's own validator and their messages stay one. Only the calls the gate makes are
here: views (in the schemas `main`, `previous` and `current`, which Spark's temporary views
lack, so `previous."trips"` becomes the view `previous__trips`), small registered tables,
queries with bound parameters, and DESCRIBE, answered in DuckDB's type names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import sqlglot
from sqlglot import exp

from pipelines.core import catalog
from pipelines.core.engine import QueryError
from pipelines.spark.transpile import TranspileError, to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Spark's type names as DuckDB's, for the gate's type expectations.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp_ntz": "TIMESTAMP",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "binary": "BLOB",
}


class SparkQueryError(QueryError):
    """A query Spark could not run (or the transpiler could not carry): the gate treats it as
    DuckDB's errors, as a rule that could not be evaluated."""


def _failed(exc: Exception) -> SparkQueryError:
    """Spark's first line of the reason (the rest is a Java stack)."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return SparkQueryError(lines[0] if lines else type(exc).__name__)


def duckdb_type(spark_type: str) -> str:
    if m := re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", spark_type):
        return f"DECIMAL({m[1]},{m[2]})"
    return DUCKDB_TYPES.get(spark_type, spark_type.upper())


@dataclass
class Result:
    """What the gate reads of a DuckDB result: rows, and the columns' names."""

    rows: list[tuple]
    description: list[tuple]

    def fetchall(self) -> list[tuple]:
        return self.rows

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None


@dataclass
class Relation:
    frame: DataFrame

    def to_arrow_table(self) -> pa.Table:
        return self.frame.toArrow()


def _flat_name(table: exp.Table) -> str:
    """`previous."trips"` as one temporary view's name: previous__trips."""
    return f"{table.db}__{table.name}" if table.db and table.db != "main" else table.name


class SparkConnection:
    """The gate's connection, on Spark."""

    def __init__(self, spark: SparkSession):
        self.spark = spark
        self.engine_name = f"Spark {spark.version}"

    def _spark_sql(self, sql: str) -> str:
        tree = sqlglot.parse_one(sql, read="duckdb")
        for table in tree.find_all(exp.Table):
            if table.db:
                table.replace(exp.to_table(_flat_name(table)))
        return to_spark(tree.sql(dialect="duckdb"))

    def _query(self, sql: str, params: dict[str, Any] | list | None = None) -> DataFrame:
        from pyspark.errors import PySparkException

        args = catalog.used_params(sql, params) if isinstance(params, dict) else None
        try:
            return self.spark.sql(self._spark_sql(sql), args=args)
        except (PySparkException, TranspileError) as exc:
            raise _failed(exc) from None

    def execute(self, sql: str, params: dict[str, Any] | list | None = None) -> Result:
        statement = sql.strip()
        upper = statement.upper()
        if upper.startswith("CREATE SCHEMA"):
            return Result([], [])
        if upper.startswith("CREATE VIEW") or upper.startswith("CREATE OR REPLACE VIEW"):
            self._create_view(statement)
            return Result([], [])
        if upper.startswith("DESCRIBE"):
            name = statement.split(None, 1)[1].strip().strip('"')
            fields = self.spark.table(f"`{name}`").schema.fields
            rows = [(f.name, duckdb_type(f.dataType.simpleString())) for f in fields]
            return Result(rows, [("column_name",), ("column_type",)])
        frame = self._query(statement, params)
        from pyspark.errors import PySparkException

        try:
            rows = [tuple(r) for r in frame.collect()]
        except PySparkException as exc:
            raise _failed(exc) from None
        return Result(rows, [(c,) for c in frame.columns])

    def _create_view(self, statement: str) -> None:
        create = sqlglot.parse_one(statement, read="duckdb")
        name = _flat_name(create.this)
        query = create.expression
        source = query.args.get("from_")
        reader = source.this.this if source is not None and isinstance(source.this, exp.Table) else None
        files = None
        if isinstance(reader, exp.ReadParquet):
            files = [e.name for e in reader.expressions[0].expressions]
        if files is not None:
            from pyspark.errors import PySparkException

            try:
                self.spark.read.parquet(*files).createOrReplaceTempView(name)
            except PySparkException as exc:
                raise _failed(exc) from None
            return
        self._query(query.sql(dialect="duckdb")).createOrReplaceTempView(name)

    def sql(self, query: str, params: dict[str, Any] | None = None) -> Relation:
        return Relation(self._query(query, params))

    def register(self, name: str, table: pa.Table) -> None:
        frame = pl.from_arrow(table)
        self.spark.createDataFrame(frame.to_arrow(compat_level=pl.CompatLevel.oldest())).createOrReplaceTempView(name)

    def close(self) -> None:
        """The session outlives the gate (the marts may run on it next)."""
