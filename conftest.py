"""Test session set-up shared by pytest and nbval: a small deterministic SYNTHETIC snapshot.

CARD_INSIGHTS_DATA points every process of the run (notebook kernels included) at a fresh
temporary data folder holding only the test snapshot, so the latest snapshot is the test one.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import settings

from pipelines.core import catalog
from pipelines.core.paths import ground_truth_dir
from pipelines.core.snapshot import Snapshot
from pipelines.reporting.nbtools import TEST_NOISE_KEY, TEST_SNAPSHOT, make_test_snapshot
from pipelines.spark.session import CONFIG_FILE as SPARK_CONFIG_FILE

#: Spark's settings for the tests, over the shipped ones. The test snapshot is tiny and each
#: test sends Spark hundreds of small queries: two shuffle partitions (each is a task to start;
#: two still merge results across partitions, as a cluster does), no adaptive re-planning
#: between stages, no Java compiled for each query's stages (whole-stage code generation:
#: compiling it took longer than running the stages on so few rows; 127 s to 112 s for the
#: test snapshot's marts, by hand), and a JVM that compiles with its quick compiler only and
#: collects garbage on one thread (the optimising compiler and parallel collector pay off only
#: on long work). They change how fast a query runs, not what it returns; production's
#: whole-stage generated code is then not what the tests run (its figures are Spark's own,
#: the rewrites of DuckDB's SQL are what the tests hold equal).
SPARK_TEST_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.driver.memory": "2g",
}

# Speed is measured by `make bench`, never asserted in a test: Hypothesis's default deadline
# of 200 ms per example would fail a correct test on a busy machine.
settings.register_profile("card-insights", deadline=None)
settings.load_profile("card-insights")


def pytest_configure(config):
    # Under pytest-xdist (`make test` runs two workers) the controller runs no test: each
    # worker makes its own data folder and test snapshot, so no two tests share a folder.
    if getattr(config.option, "numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        return
    if os.environ.get("CARD_INSIGHTS_TEST_DATA"):
        return
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        # An xdist worker's main module has neither spec nor file; pyspark.sql.connect, which
        # Great Expectations imports, then takes the run for pyspark's doctests and exits. A
        # spec named __main__ is also what multiprocessing's spawn expects of a main module
        # that its children need not import (the generator's workers).
        main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)
    data = tempfile.mkdtemp(prefix="card-insights-test-")
    os.environ["CARD_INSIGHTS_DATA"] = data
    os.environ["CARD_INSIGHTS_TEST_DATA"] = data
    # Keep DuckDB modest so parallel kernels and tests never compete for the machine.
    os.environ.setdefault("CARD_INSIGHTS_DUCKDB_MEMORY", "2GB")
    os.environ["CARD_INSIGHTS_NOISE_KEY"] = TEST_NOISE_KEY
    os.environ.setdefault("CARD_INSIGHTS_SPARK_CONFIG", str(_spark_test_config(Path(data))))
    make_test_snapshot()
    config._card_insights_data = data


def _spark_test_config(folder: Path) -> Path:
    """The shipped Spark settings with SPARK_TEST_CONF over them, as a file in `folder`."""
    shipped = tomllib.loads(SPARK_CONFIG_FILE.read_text())
    conf = {**shipped["conf"], **SPARK_TEST_CONF}
    # JSON's strings are TOML's basic strings.
    lines = [f"{key} = {json.dumps(shipped[key])}" for key in ("master", "app_name")]
    lines += ["[conf]", *(f"{json.dumps(k)} = {json.dumps(str(v))}" for k, v in conf.items())]
    path = folder / "spark-test.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def pytest_unconfigure(config):
    data = getattr(config, "_card_insights_data", None)
    if data:
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def snapshot() -> str:
    return TEST_SNAPSHOT


@pytest.fixture(scope="session")
def manifest(snapshot):
    return Snapshot.open(snapshot).manifest


@pytest.fixture(scope="session")
def snap(snapshot) -> Snapshot:
    return Snapshot.open(snapshot)


@pytest.fixture()
def con(snapshot):
    with catalog.connect(snapshot) as c:
        yield c


@pytest.fixture(scope="module")
def mart_con(snapshot):
    """The test snapshot, validated, with its marts built."""
    import datetime as dt

    from pipelines import marts
    from pipelines.quality.gate import validate

    validate(snapshot, now=dt.datetime(2026, 11, 23))
    marts.build(snapshot)
    with marts.connect(snapshot) as con:
        yield con


@pytest.fixture
def cut_short(snap) -> Snapshot:
    """The test snapshot as if its period ended on 20 June: June is not a whole month."""
    import datetime as dt

    return snap.with_period(snap.start, dt.date(2025, 6, 20))


@pytest.fixture(scope="session")
def truth(snapshot) -> dict[str, pl.DataFrame]:
    folder = ground_truth_dir() / snapshot
    files = {p.stem: pl.read_parquet(p) for p in folder.glob("*.parquet")}
    return files | {d.name: pl.read_parquet(d / "*.parquet") for d in folder.iterdir() if d.is_dir()}


@pytest.fixture()
def isolated_data(tmp_path, monkeypatch):
    """A private, empty data folder for tests that write snapshots."""
    monkeypatch.setenv("CARD_INSIGHTS_DATA", str(tmp_path))
    return tmp_path


@pytest.fixture(autouse=True)
def fresh_privacy_ledger():
    """Each test starts with nothing spent from the yearly privacy budget of the shared test
    data, so that how many releases earlier tests opened never decides a later one."""
    from pipelines.privacy.ledger import ledger_path

    ledger_path().unlink(missing_ok=True)
