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

from pipelines import marts
from pipelines.ingest.importer import import_source
from pipelines.quality.gate import validate
from tests.ingest.test_extends import NOW, extract_as_of

#: The test snapshot's half year cut into a first extract to the 20th of April (a month cut
#: short), one to the end of May, and June.
CUTS = (dt.date(2025, 1, 1), dt.date(2025, 4, 21), dt.date(2025, 6, 1), dt.date(2025, 7, 1))
IDS = ("to-04-20", "to-05", "to-06")


def _marts(snapshot: str) -> dict[str, pl.DataFrame]:
    return marts.read_folder(marts.marts_dir(snapshot))


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


#: Every mart with a month column: an extension computes its new months alone.
MONTHLY = (
    "commute_days",
    "commute_pkm",
    "member_month",
    "rfm",
    "merchant_first_visits",
    "merchant_customer_month",
    "merchant_customer_hours",
    "merchant_month",
    "merchant_cells",
    "campaign_members",
)


def test_each_extension_shares_its_parents_months(chain):
    """The months before the new days are the parent's files, linked, not copied; April, which
    the first snapshot cut short, is computed again."""
    for snapshot, parent, since in (("to-05", "to-04-20", "2025-04-01"), ("to-06", "to-05", "2025-06-01")):
        stamp = json.loads((marts.marts_dir(snapshot) / marts.MARTS_FILE).read_text())
        assert stamp["extended"]["since"] == since
        assert sorted(stamp["extended"]["rows_reused"]) == sorted(MONTHLY)
        for name in MONTHLY:
            assert stamp["extended"]["rows_reused"][name] > 0, name
            files = sorted((marts.marts_dir(snapshot) / f"{name}.parquet").glob("*.parquet"))
            shared = [f for f in files if f.stem < since]
            assert shared and [f.stem for f in files if f.stem >= since], name
            for f in shared:
                assert f.samefile(marts.marts_dir(parent) / f"{name}.parquet" / f.name), f


def test_the_marts_built_month_by_month_equal_a_build_from_scratch(chain):
    incremental = _marts("to-06")
    stamp = marts.build("to-06", force=True)
    assert "extended" not in stamp
    scratch = _marts("to-06")
    assert "rfm" in scratch and "merchant_customer_month" in scratch
    marts.check_same(incremental, scratch)


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
    expected = _marts("to-06")
    for snapshot, since in (("to-05", "2025-04-01"), ("to-06", "2025-06-01")):
        stamp = marts.build(snapshot, engine="spark")
        assert stamp["engine"] == "spark" and stamp["extended"]["since"] == since
        assert stamp["extended"]["rows_reused"]["member_month"] > 0
    marts.check_same(_marts("to-06"), expected)


def test_the_gate_of_an_extension_on_spark_gives_duckdbs_verdict(chain):
    """The new days' own views, the IDs reused from earlier months and the comparison with the
    parent, on Spark."""
    from pipelines.spark.connection import SparkConnection
    from pipelines.spark.session import session
    from tests.spark.test_spark_gate import _same_verdict

    duck = validate("to-06", now=NOW)
    spark = validate("to-06", now=NOW, connect=lambda: SparkConnection(session()))
    assert duck.success and duck.document["previous_snapshot"] == "to-05"
    assert spark.success and spark.document["statistics"]["evaluated_expectations"] > 200
    _same_verdict(duck, spark)
