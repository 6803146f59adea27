"""The marts on Apache Spark: the families' DuckDB SQL, transpiled (transpile.py), run by Spark
over the snapshot's Parquet files, each step written as Parquet where DuckDB writes it.

A step written by Spark is a folder of part files (`<mart>.parquet/part-*.parquet`), Spark's
own shape, which Spark on a cluster writes in parallel; every reader of the marts takes a file
or such a folder alike. Marts that a family computes in Python (campaign effects, commute
detection's per-card function) are Polars frames, written as one part in the same shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from pipelines.core import catalog
from pipelines.core.engine import Engine, GroupFunction, Months, write_clustered
from pipelines.core.schema import TABLES
from pipelines.core.snapshot import Snapshot
from pipelines.spark.session import spark_errors
from pipelines.spark.transpile import to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def _arrow(frame: pl.DataFrame) -> pa.Table:
    """A Polars frame in the Arrow types Spark reads: plain strings for enums and categoricals,
    signed integers for unsigned ones (Spark has none)."""
    casts: dict[str, pl.DataType] = {}
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Enum | pl.Categorical):
            casts[name] = pl.String()
        elif dtype.is_unsigned_integer():
            casts[name] = pl.Int64()
    return frame.cast(casts).to_arrow(compat_level=pl.CompatLevel.oldest())


class SparkEngine(Engine):
    """A Spark session with a view per table of `snapshot` and `period_months`."""

    def __init__(self, spark: SparkSession, snapshot: Snapshot):
        self.spark = spark
        for spec in TABLES:
            spark.read.parquet(*snapshot.file_paths(spec.name)).createOrReplaceTempView(spec.name)
        self.register("period_months", snapshot.months())

    def _sql(self, sql: str, params: dict[str, Any] | None = None) -> DataFrame:
        with spark_errors():
            return self.spark.sql(to_spark(sql), args=catalog.used_params(sql, params or {}))

    def view(self, name: str, sql: str) -> None:
        self._sql(sql).createOrReplaceTempView(name)

    def register(self, name: str, frame: pl.DataFrame) -> None:
        self.spark.createDataFrame(_arrow(frame)).createOrReplaceTempView(name)

    def _step(self, name: str) -> None:
        """Name the jobs that follow, in a cluster's UI and in the event log that `make bench`
        reads the shuffle sizes from."""
        self.spark.sparkContext.setJobGroup(name, f"mart step {name}")

    def fetch(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        self._step("fetched by Python")
        frame = self._sql(sql, params)
        with spark_errors():
            return pl.from_arrow(frame.toArrow())

    def write(
        self, sql: str, params: dict[str, Any] | None, target: Path, months: Months | None = None
    ) -> tuple[int, int]:
        self._step(target.stem)
        frame = self._sql(sql, params)
        reused = 0
        if months is not None and months.extending:
            with spark_errors():
                old = self._earlier(months)
                reused = old.count()
            frame = old.unionByName(frame.where(f"NOT ({months.before()})"))
        with spark_errors():
            frame.write.mode("overwrite").parquet(str(target))
            written = self.spark.read.parquet(str(target))
            written.createOrReplaceTempView(target.stem)
            return written.count(), reused

    def _earlier(self, months: Months) -> Any:
        return self.spark.read.parquet(str(months.previous)).where(months.before())

    def earlier(self, name: str, months: Months) -> None:
        with spark_errors():
            self._earlier(months).createOrReplaceTempView(name)

    def write_frame(
        self, frame: pl.DataFrame, target: Path, months: Months | None = None, cluster: str | None = None
    ) -> tuple[int, int]:
        """Written by Polars, not Spark, so the mart keeps the frame's types (Spark has no
        unsigned integers); an extension's kept rows are read by Polars too (frames are small)."""
        reused = 0
        if months is not None and months.extending:
            assert months.previous is not None
            before = pl.col(months.column) < months.since
            old = pl.read_parquet(catalog.parquet_path(months.previous)).filter(before)
            reused = old.height
            frame = pl.concat([old, frame.filter(~before)])
        target.mkdir(parents=True, exist_ok=True)
        write_clustered(frame, target / "part-00000.parquet", cluster)
        self.spark.read.parquet(str(target)).createOrReplaceTempView(target.stem)
        return frame.height, reused

    def per_group(self, sql: str, by: str, function: GroupFunction) -> dict[str, pl.DataFrame]:
        """Spark splits the rows among its tasks by `by`, so each task holds whole groups, and
        runs `function` once per task on a Polars frame of its rows (mapInArrow). The output
        schemas come from `function` on no rows."""
        rows = self._sql(sql)
        self._step(f"per {by}")
        empty = pl.from_arrow(pa.Table.from_batches([], schema=rows.limit(0).toArrow().schema))
        shapes = function(empty)
        split = rows.repartition(by)
        out = {}
        for name, shape in shapes.items():
            schema = _arrow(shape).schema

            def run(batches: Iterator[pa.RecordBatch], name: str = name) -> Iterator[pa.RecordBatch]:
                batches = list(batches)
                part = pl.from_arrow(pa.Table.from_batches(batches)) if batches else empty
                yield from _arrow(function(part)[name]).to_batches()

            with spark_errors():
                got = pl.from_arrow(split.mapInArrow(run, _spark_schema(schema)).toArrow())
            out[name] = got.cast(shape.schema)
        return out


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)
