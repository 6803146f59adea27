"""The Spark session the marts run on, from config/spark.toml (local[*] by default)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.core.config import ConfigError, check_keys, read_toml
from pipelines.core.engine import QueryError
from pipelines.core.paths import data_dir
from pipelines.spark.transpile import TranspileError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

CONFIG_FILE = Path(__file__).parent / "config" / "spark.toml"


class SparkQueryError(QueryError):
    """A query Spark could not run (or the transpiler could not carry). The gate counts it as a
    rule that could not be evaluated, as it counts DuckDB's errors; the command line says it."""


@contextlib.contextmanager
def spark_errors() -> Iterator[None]:
    """Spark's and the transpiler's errors as SparkQueryError, with Spark's first line (the
    rest is a Java stack)."""
    from pyspark.errors import PySparkException

    try:
        yield
    except (PySparkException, TranspileError) as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        raise SparkQueryError(lines[0] if lines else type(exc).__name__) from None


class SparkUnavailable(ConfigError):
    """Spark cannot start here (a set-up to change); the message says what to install or set."""


@dataclass(frozen=True)
class SparkSettings:
    master: str
    app_name: str
    conf: dict[str, str]


def settings() -> SparkSettings:
    """config/spark.toml, or the file CARD_INSIGHTS_SPARK_CONFIG names; CARD_INSIGHTS_SPARK_MASTER
    overrides its master."""
    path = Path(os.environ.get("CARD_INSIGHTS_SPARK_CONFIG") or CONFIG_FILE)
    if not path.is_file():
        raise ConfigError(f"no Spark configuration at {path} (CARD_INSIGHTS_SPARK_CONFIG)")
    raw = check_keys(read_toml(path), ("master", "app_name", "conf"), str(path), required=("master",))
    conf = raw.get("conf", {})
    if not isinstance(conf, dict):
        raise ConfigError(f"{path}: [conf] is a table of Spark settings")
    master = os.environ.get("CARD_INSIGHTS_SPARK_MASTER") or raw["master"]
    return SparkSettings(str(master), str(raw.get("app_name", "card-insights")), {k: str(v) for k, v in conf.items()})


def _java_present() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and (Path(home) / "bin" / "java").exists()))


def session(extra: dict[str, Any] | None = None) -> SparkSession:
    """The process's Spark session (started on first use, with `extra` settings then)."""
    if not _java_present():
        raise SparkUnavailable("Spark needs Java 17, and no java is on PATH: run `make java` (or set JAVA_HOME)")
    from pyspark.sql import SparkSession

    # Python workers must be this interpreter, with this environment's Polars.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # When the JVM goes (Ctrl-C, a lost cluster) py4j logs every broken call at length; the
    # error that matters reaches Python anyway.
    logging.getLogger("py4j").setLevel(logging.CRITICAL)
    s = settings()
    if s.master.startswith("local"):
        # In local mode the driver and its executors talk over loopback only.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(s.master).appName(s.app_name)
    # Spark's default warehouse is a folder in the working directory; nothing here uses it.
    conf = {"spark.sql.warehouse.dir": str(data_dir() / ".spark-warehouse"), **s.conf, **(extra or {})}
    for key, value in conf.items():
        builder = builder.config(key, str(value))
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # Py4J, a JVM that would not start, a master that does not answer
        reason = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise SparkUnavailable(
            f"Spark did not start on master {s.master!r} ({reason}); check CARD_INSIGHTS_SPARK_MASTER and "
            f"the settings in {os.environ.get('CARD_INSIGHTS_SPARK_CONFIG') or CONFIG_FILE}"
        ) from None
    # A failing query raises in Python with Spark's message; its log would repeat it as JSON.
    spark.sparkContext.setLogLevel("FATAL")
    return spark
