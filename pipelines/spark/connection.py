"""A Spark session that answers the gate as its DuckDB connection does (pipelines/quality/).

The gate compiles its suites into DuckDB SQL: one aggregate scan per table, plus small derived
check tables (volumes, drift, the campaign draws). `SparkConnection` takes that same SQL,
transpiles it (transpile.py) and runs it on Spark, so the suites, their conformance test
against GX's own validator and their messages stay one. Only the calls the gate makes are
here: views (in the schemas `main`, `previous` and `current`, which Spark's temporary views
lack, so `previous."trips"` becomes the view `previous__trips`, and whose names are plain
identifiers, so `"trips (new days)"` becomes `trips__new_days_`), small registered tables,
queries with bound parameters, and DESCRIBE, answered in DuckDB's type names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import sqlglot
from sqlglot import exp

from pipelines.core import catalog
from pipelines.spark.session import spark_errors
from pipelines.spark.transpile import to_spark

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


def _doubles(table: pa.Table) -> pa.Table:
    """Spark's arithmetic on decimals stays DECIMAL where DuckDB's gives a DOUBLE: as DuckDB."""
    schema = pa.schema([f.with_type(pa.float64()) if pa.types.is_decimal(f.type) else f for f in table.schema])
    return table.cast(schema)


@dataclass
class Relation:
    frame: DataFrame

    def to_arrow_table(self) -> pa.Table:
        with spark_errors():
            return _doubles(self.frame.toArrow())


def view_name(table: exp.Table) -> str:
    """A view's name as a Spark temporary view can have it: `previous."trips"` (Spark's
    temporary views have no schemas) becomes previous__trips, `"trips (new days)"`
    trips__new_days_."""
    name = f"{table.db}__{table.name}" if table.db and table.db != "main" else table.name
    return re.sub(r"\W", "_", name)


class SparkConnection:
    """The gate's connection, on Spark."""

    def __init__(self, spark: SparkSession):
        self.spark = spark
        self.engine_name = f"Spark {spark.version}"

    def _spark_sql(self, sql: str) -> str:
        tree = sqlglot.parse_one(sql, read="duckdb")
        for table in list(tree.find_all(exp.Table)):
            if isinstance(table.this, exp.ReadParquet):
                # Files read in a query (the parent's, for an extension): a view of them.
                files = [e.name for e in table.this.expressions[0].expressions]
                name = f"files_{abs(hash(tuple(files)))}"
                with spark_errors():
                    self.spark.read.parquet(*files).createOrReplaceTempView(name)
                table.set("this", exp.to_identifier(name))
            elif isinstance(table.this, exp.Identifier):
                table.set("this", exp.to_identifier(view_name(table)))
                table.set("db", None)
        return to_spark(tree.sql(dialect="duckdb"))

    def _query(self, sql: str, params: dict[str, Any] | list | None = None) -> DataFrame:
        args = catalog.used_params(sql, params) if isinstance(params, dict) else None
        with spark_errors():
            return self.spark.sql(self._spark_sql(sql), args=args)

    def execute(self, sql: str, params: dict[str, Any] | list | None = None) -> Result:
        statement = sql.strip()
        upper = statement.upper()
        if upper.startswith("CREATE SCHEMA"):
            return Result([], [])
        if upper.startswith("CREATE VIEW") or upper.startswith("CREATE OR REPLACE VIEW"):
            self._create_view(statement)
            return Result([], [])
        if upper.startswith("DESCRIBE"):
            table = sqlglot.parse_one(statement, read="duckdb").this
            with spark_errors():
                fields = self.spark.table(view_name(table)).schema.fields
            rows = [(f.name, duckdb_type(f.dataType.simpleString())) for f in fields]
            return Result(rows, [("column_name",), ("column_type",)])
        frame = self._query(statement, params)
        with spark_errors():
            rows = [tuple(float(v) if isinstance(v, Decimal) else v for v in r) for r in frame.collect()]
        return Result(rows, [(c,) for c in frame.columns])

    def _create_view(self, statement: str) -> None:
        create = sqlglot.parse_one(statement, read="duckdb")
        name = view_name(create.this)
        query = create.expression
        source = query.args.get("from_")
        reader = source.this.this if source is not None and isinstance(source.this, exp.Table) else None
        with spark_errors():
            if isinstance(reader, exp.ReadParquet):
                files = [e.name for e in reader.expressions[0].expressions]
                self.spark.read.parquet(*files).createOrReplaceTempView(name)
            else:
                self._query(query.sql(dialect="duckdb")).createOrReplaceTempView(name)

    def sql(self, query: str, params: dict[str, Any] | None = None) -> Relation:
        return Relation(self._query(query, params))

    def register(self, name: str, table: pa.Table) -> None:
        frame = pl.from_arrow(table).to_arrow(compat_level=pl.CompatLevel.oldest())
        with spark_errors():
            self.spark.createDataFrame(frame).createOrReplaceTempView(view_name(exp.to_table(name)))

    def close(self) -> None:
        """The session outlives the gate (the marts may run on it next)."""
