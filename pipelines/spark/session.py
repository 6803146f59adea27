"""The Spark session the marts run on, from config/spark.toml (local[*] by default)."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.core.config import ConfigError, check_keys, read_toml

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

CONFIG_FILE = Path(__file__).parent / "config" / "spark.toml"


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
    s = settings()
    if s.master.startswith("local"):
        # In local mode the driver and its executors talk over loopback only.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(s.master).appName(s.app_name)
    for key, value in {**s.conf, **(extra or {})}.items():
        builder = builder.config(key, str(value))
    spark = builder.getOrCreate()
    # A failing query raises in Python with Spark's message; its log would repeat it as JSON.
    spark.sparkContext.setLogLevel("FATAL")
    return spark
