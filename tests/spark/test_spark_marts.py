"""The marts on Apache Spark in local mode: the families' DuckDB SQL, transpiled, gives the same
marts as DuckDB; a construct that cannot be carried fails with its file and line."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import marts
from pipelines.core.paths import data_dir
from pipelines.core.sql import SqlFolder
from pipelines.families import FAMILIES
from pipelines.spark.session import session
from pipelines.spark.transpile import TranspileError, to_spark


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_every_query_a_mart_is_built_from_transpiles(family):
    sql = SqlFolder(family.package / "sql")
    built_from = [n for n in sql.names() if not n.startswith("rpt_")]
    assert built_from
    for name in built_from:
        assert to_spark(sql.load(name)).strip()


@pytest.mark.parametrize(
    ("text", "construct", "line"),
    [
        (
            "-- a mart\nSELECT\n    member_id,\n    md5_number_upper(member_id) AS h\nFROM members\n",
            "md5_number_upper",
            4,
        ),
        ("-- a mart\n\nSELECT a FROM x\nUNION ALL BY NAME\nSELECT a FROM y\n", "UNION BY NAME", 3),
        ("-- a macro\nCREATE MACRO twice(a) AS a * 2\n", "CREATE", 2),
    ],
)
def test_a_construct_spark_lacks_fails_with_its_file_and_line(tmp_path, text, construct, line):
    (tmp_path / "mart_example.sql").write_text(text)
    with pytest.raises(TranspileError) as failed:
        to_spark(SqlFolder(tmp_path).load("mart_example"))
    message = str(failed.value)
    assert f"{tmp_path / 'mart_example.sql'}:{line}:" in message and construct in message


@pytest.fixture(scope="module")
def spark():
    return session()


#: Values where DuckDB's functions and their Spark rewrites could part: every day of the week,
#: timestamps before 1970 and with microseconds, hashes of non-ASCII text, ties.
ROWS = pl.DataFrame(
    {
        "t": [dt.datetime(1969, 12, 31, 23, 59, 59, 999999) + dt.timedelta(days=i, microseconds=i) for i in range(9)],
        "s": ["", "abc", "高雄", "M0000001", "a b", "ü", "0", "x" * 100, "C1"],
        "g": ["a", "a", "a", "b", "b", "b", "c", "c", "c"],
        "n": [1, 2, 2, 5, 5, 5, 0, 1, 1],
        "v": ["z", "y", "x", "c", "a", "b", "q", "r", "p"],
    }
)
CHECKS = {
    "isodow": "SELECT t, isodow(t) AS d FROM rows",
    "epoch_us": "SELECT t, epoch_us(t) AS us, epoch_us(t) // 1000000 AS s FROM rows",
    "md5_number_lower": "SELECT s, CAST(md5_number_lower(s) // 2 AS BIGINT) AS h FROM rows",
    "concat": "SELECT s, concat(md5_number_lower(s), ' ', n, ' ', CAST(t AS DATE)) AS c FROM rows",
    "ordered first": "SELECT g, first(v ORDER BY n DESC, v) AS v FROM rows GROUP BY g",
    "query_table": "SELECT count(*) AS n FROM query_table($table)",
    "bitwise": "SELECT n, xor(n, n >> 1) * 3 AS x, (n & 6) + 1 AS a, (n | 8) * 2 AS o FROM rows",
}


@pytest.mark.parametrize("check", CHECKS)
def test_each_rewrite_gives_what_duckdb_gives(spark, check):
    query = CHECKS[check]
    params = {"table": "rows"} if "$table" in query else None
    con = duckdb.connect()
    con.register("rows", ROWS.to_arrow())
    expected = pl.from_arrow(con.sql(query, params=params).to_arrow_table())
    spark.createDataFrame(ROWS.to_arrow()).createOrReplaceTempView("rows")
    got = pl.from_arrow(spark.sql(to_spark(query), args=params).toArrow())
    key = expected.columns[0]
    assert_frame_equal(got.sort(key), expected.sort(key), check_dtypes=False)


@pytest.fixture(scope="module")
def built(snapshot, mart_con, tmp_path_factory):
    """The test snapshot's marts on DuckDB (mart_con) and on Spark, in a data folder of its
    own holding the same snapshot and verdict."""
    home = tmp_path_factory.mktemp("spark-data")
    for part in ("snapshots", "validation"):
        shutil.copytree(data_dir() / part / snapshot, home / part / snapshot)
    expected = marts.read_folder(marts.marts_dir(snapshot))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARD_INSIGHTS_DATA", str(home))
        stamp = marts.build(snapshot, engine="spark")
        yield stamp, expected, marts.read_folder(marts.marts_dir(snapshot))


def test_every_mart_built_on_spark_equals_duckdbs(built):
    stamp, expected, got = built
    assert stamp["engine"] == "spark"
    assert stamp["marts"] == {name: frame.height for name, frame in got.items()}
    marts.check_same(got, expected)


def test_notebooks_read_spark_marts_as_duckdb_marts(built, snapshot):
    """marts.connect, which every notebook and report query goes through, reads the folders
    Spark writes as it reads DuckDB's files."""
    _, expected, _ = built
    with marts.connect(snapshot) as con:
        got = {name: pl.from_arrow(con.sql(f'SELECT * FROM "{name}"').to_arrow_table()) for name in expected}
    marts.check_same(got, expected)


def test_current_marts_are_kept_whichever_engine_made_them(built, snapshot):
    stamp, _, _ = built
    assert marts.build(snapshot) == stamp
    with pytest.raises(ValueError, match="unknown engine 'polars': one of duckdb, spark"):
        marts.build(snapshot, engine="polars")


def test_stale_marts_are_rebuilt_where_they_were_built_and_kept_if_that_fails(built, snapshot, monkeypatch):
    """A scheduled run finding Spark's marts stale builds them on Spark again; a build that
    fails half-way leaves them as they were."""
    stamp, expected, _ = built
    path = marts.marts_dir(snapshot) / marts.MARTS_FILE
    stale = {**stamp, "code_sha256": "an older version"}
    path.write_text(json.dumps(stale))
    opened = []

    def failing(name, snap):
        opened.append(name)
        raise RuntimeError("the cluster went away")

    monkeypatch.setattr(marts, "_open_engine", failing)
    with pytest.raises(RuntimeError, match="went away"):
        marts.build(snapshot)
    assert opened == ["spark"]
    assert json.loads(path.read_text()) == stale
    marts.check_same(marts.read_folder(marts.marts_dir(snapshot)), expected)
    path.write_text(json.dumps(stamp))


def test_without_java_spark_says_what_to_install(monkeypatch):
    from pipelines.spark import session as spark_session

    monkeypatch.setattr(spark_session.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(spark_session.SparkUnavailable, match="make java"):
        spark_session.session()


def test_the_master_and_settings_come_from_configuration(tmp_path, monkeypatch):
    from pipelines.core.config import ConfigError
    from pipelines.spark.session import settings

    shipped = settings()
    assert shipped.master == "local[*]" and shipped.conf["spark.sql.session.timeZone"] == "UTC"
    monkeypatch.setenv("CARD_INSIGHTS_SPARK_MASTER", "spark://head:7077")
    assert settings().master == "spark://head:7077"
    (tmp_path / "cluster.toml").write_text('master = "yarn"\n[conf]\n"spark.executor.memory" = "8g"\n')
    monkeypatch.delenv("CARD_INSIGHTS_SPARK_MASTER")
    monkeypatch.setenv("CARD_INSIGHTS_SPARK_CONFIG", str(tmp_path / "cluster.toml"))
    assert settings().master == "yarn" and settings().conf == {"spark.executor.memory": "8g"}
    (tmp_path / "cluster.toml").write_text('master = "yarn"\nexecutors = 4\n')
    with pytest.raises(ConfigError, match="executors"):
        settings()
