"""Incremental marts: a chain of monthly snapshots, each extending the last, builds its marts
from the parent's plus the new days, and ends with the same marts as a build from scratch."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import marts
from pipelines.ingest.importer import import_source
from pipelines.quality.gate import validate
from tests.ingest.test_extends import NOW, extract_as_of

#: The test snapshot's half year cut into a first extract to the 20th of April (a month cut
#: short), one to the end of May, and June.
CUTS = (dt.date(2025, 1, 1), dt.date(2025, 4, 21), dt.date(2025, 6, 1), dt.date(2025, 7, 1))
IDS = ("to-04-20", "to-05", "to-06")


def _marts(snapshot: str) -> dict[str, pl.DataFrame]:
    folder = marts.marts_dir(snapshot)
    return {p.stem: pl.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """The three snapshots, imported, validated and their marts built in turn."""
    data = tmp_path_factory.mktemp("chain")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARD_INSIGHTS_DATA", str(data))
        parent = None
        for snapshot, start, stop in zip(IDS, CUTS, CUTS[1:], strict=False):
            source = extract_as_of(data / "extracts" / snapshot, None if parent is None else start, stop)
            import_source(source, snapshot, start, stop - dt.timedelta(days=1), extends=parent)
            assert validate(snapshot, now=NOW).success
            marts.build(snapshot)
            parent = snapshot
        yield data


def test_each_extension_reused_its_parents_months(chain):
    for snapshot, since in (("to-05", "2025-04-01"), ("to-06", "2025-06-01")):
        stamp = json.loads((marts.marts_dir(snapshot) / marts.MARTS_FILE).read_text())
        assert stamp["extended"]["since"] == since
        assert stamp["extended"]["rows_reused"]["member_month"] > 0 and stamp["extended"]["rows_reused"]["rfm"] > 0


def test_the_marts_built_month_by_month_equal_a_build_from_scratch(chain):
    incremental = _marts("to-06")
    stamp = marts.build("to-06", force=True)
    assert "extended" not in stamp
    scratch = _marts("to-06")
    assert sorted(incremental) == sorted(scratch) and "rfm" in scratch
    for name, frame in scratch.items():
        got = incremental[name]
        assert got.schema == frame.schema, name
        # Marts are not sorted: compare them in one order; floats summed in another order by
        # DuckDB's threads may differ in the last bits.
        order = [c for c, t in frame.schema.items() if not t.is_float()]
        assert_frame_equal(got.sort(order), frame.sort(order), check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


def test_marts_built_already_are_said_to_be_up_to_date(chain):
    env = {**os.environ, "CARD_INSIGHTS_DATA": str(chain), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "marts", "-s", "to-05"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "are up to date" in done.stderr and "extended" not in done.stderr


def test_spark_extends_the_marts_month_by_month_as_duckdb_does(chain):
    """The incremental path on Spark: May extends April's marts (made by DuckDB), June extends
    May's (made by Spark, folders of parts); June's marts equal DuckDB's."""
    from tests.spark.test_spark_marts import assert_same_marts, read_marts

    expected = read_marts(marts.marts_dir("to-06"))
    for snapshot, since in (("to-05", "2025-04-01"), ("to-06", "2025-06-01")):
        stamp = marts.build(snapshot, engine="spark")
        assert stamp["engine"] == "spark" and stamp["extended"]["since"] == since
        assert stamp["extended"]["rows_reused"]["member_month"] > 0
    assert_same_marts(read_marts(marts.marts_dir("to-06")), expected)


def test_the_gate_of_an_extension_on_spark_gives_duckdbs_verdict(chain):
    """The new days' own views, the IDs reused from earlier months and the comparison with the
    parent, on Spark."""
    from pipelines.spark.connection import SparkConnection
    from pipelines.spark.session import session
    from tests.spark.test_spark_gate import _same_verdict

    duck = validate("to-06", now=NOW)
    spark = validate("to-06", now=NOW, connect=lambda: SparkConnection(session()))
    assert duck.success and duck.document["previous_snapshot"] == "to-05"
    _same_verdict(duck, spark)
