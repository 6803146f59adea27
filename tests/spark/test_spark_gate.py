"""The gate on Apache Spark: the same suites, compiled to the same DuckDB SQL and transpiled,
give the same verdict as on DuckDB, on broken snapshots here; on a good one, a monthly
extension with every rule of a whole snapshot and those of its new days, in
tests/core/test_incremental_marts.py (each Spark query is a job: one good snapshot suffices)."""

from __future__ import annotations

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.quality.gate import validate
from pipelines.spark.connection import SparkConnection, duckdb_type
from pipelines.spark.session import session
from tests.quality.test_gate import NOW, _set_row, failed, tamper_tables


def on_spark():
    return SparkConnection(session())


def _same_verdict(duck, spark) -> None:
    """The same outcome for every expectation, in the same words; figures that are sums of
    floats within 1e-9 relative (Spark adds them in another order)."""
    assert spark.success == duck.success
    assert spark.document["results"] == duck.document["results"]
    assert spark.document["statistics"] == duck.document["statistics"]
    assert spark.document["engine"].startswith("card-insights engine") and "on Spark" in spark.document["engine"]
    for name, rows in duck.document["observed"].items():
        got = pl.DataFrame(spark.document["observed"][name])
        expected = pl.DataFrame(rows)
        assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-9)


def test_a_broken_snapshot_fails_on_spark_as_on_duckdb(isolated_data):
    """One copy broken several ways at once (each Spark query costs a job, so one gate run covers
    them): a column of the wrong type, a duplicate ID, an ID of the wrong format, a purchase at a
    merchant that does not exist."""
    bad = tamper_tables(
        {
            "trips": lambda f: f.with_columns(pl.col("fare").cast(pl.String)),
            "purchases": lambda f: _set_row(
                _set_row(_set_row(f, "purchase_id", 5, f["purchase_id"][4]), "card_id", 1, "K12"),
                "merchant_id",
                0,
                "S9999999",
            ),
        }
    )
    duck = validate(bad, now=NOW)
    spark = validate(bad, now=NOW, connect=on_spark)
    assert not spark.success
    assert {
        ("trips", "fare", "expect_column_values_to_be_of_type"),
        ("purchases", "purchase_id", "expect_column_values_to_be_unique"),
        ("purchases", "card_id", "expect_column_values_to_match_regex"),
        ("purchases", "merchant_id", "unexpected_rows_expectation"),
    } <= failed(spark)
    _same_verdict(duck, spark)


@pytest.mark.parametrize(
    ("spark_type", "duckdb"),
    [("string", "VARCHAR"), ("int", "INTEGER"), ("timestamp_ntz", "TIMESTAMP"), ("decimal(20,0)", "DECIMAL(20,0)")],
)
def test_spark_types_read_as_duckdb_names(spark_type, duckdb):
    assert duckdb_type(spark_type) == duckdb


def test_the_verdict_names_the_engine(snapshot):
    stored = json.loads(validate(snapshot, now=NOW).path.read_text())
    assert stored["engine"].startswith("card-insights engine") and "on DuckDB" in stored["engine"]
