"""Marts with a month column on DuckDB: a file per month, an extension that links its parent's
earlier month files and computes the rest, a parent of other files (Spark's parts) whose
earlier rows are copied, and an empty mart that still reads."""

from __future__ import annotations

import collections
import datetime as dt
import random

import duckdb
import polars as pl
import pytest

from pipelines.core import engine as engine_module
from pipelines.core.catalog import parquet_path
from pipelines.core.engine import DuckDBEngine, Months

#: Thirty rows over January to March; the extension's query gives March and April again.
PARENT = "SELECT CAST(DATE '2025-01-01' + INTERVAL (i % 3) MONTH AS DATE) AS month, i FROM range(30) t(i)"
CHILD = "SELECT CAST(DATE '2025-02-01' + INTERVAL (i % 3) MONTH AS DATE) AS month, 100 + i AS i FROM range(9) t(i)"
SINCE = dt.date(2025, 3, 1)


@pytest.fixture
def engine() -> DuckDBEngine:
    return DuckDBEngine(duckdb.connect())


def _rows(engine: DuckDBEngine, path) -> list[tuple]:
    return engine.con.sql(f"SELECT month, i FROM read_parquet('{parquet_path(path)}') ORDER BY i").fetchall()


def _expected(engine: DuckDBEngine) -> list[tuple]:
    """By a second, plain route: the parent's rows before March, the child's from March on."""
    before, since = f"SELECT * FROM ({PARENT}) WHERE month < DATE '{SINCE}'", f"month >= DATE '{SINCE}'"
    query = f"{before} UNION ALL SELECT * FROM ({CHILD}) WHERE {since}"
    return engine.con.sql(f"SELECT month, i FROM ({query}) ORDER BY i").fetchall()


def test_a_month_a_file_and_an_extension_links_the_earlier_ones(engine, tmp_path):
    parent = tmp_path / "parent" / "m.parquet"
    assert engine.write(PARENT, None, parent, Months("month")) == (30, 0)
    assert sorted(p.name for p in parent.iterdir()) == [
        "2025-01-01.parquet",
        "2025-02-01.parquet",
        "2025-03-01.parquet",
    ]
    child = tmp_path / "child" / "m.parquet"
    rows, reused = engine.write(CHILD, None, child, Months("month", parent, SINCE))
    assert (rows, reused) == (20 + 6, 20)
    assert sorted(p.name for p in child.iterdir()) == [
        "2025-01-01.parquet",
        "2025-02-01.parquet",
        "2025-03-01.parquet",
        "2025-04-01.parquet",
    ]
    for name in ("2025-01-01.parquet", "2025-02-01.parquet"):
        assert (child / name).samefile(parent / name)
    assert not (child / "2025-03-01.parquet").samefile(parent / "2025-03-01.parquet")
    assert _rows(engine, child) == _expected(engine)
    assert engine.con.execute('SELECT count(*) FROM "m"').fetchone()[0] == 26


def test_a_parent_of_other_files_has_its_earlier_rows_copied(engine, tmp_path):
    parent = tmp_path / "parent" / "m.parquet"
    parent.mkdir(parents=True)
    engine.con.execute(f"COPY ({PARENT}) TO '{parent / 'part-00000.parquet'}' (FORMAT parquet)")
    child = tmp_path / "child" / "m.parquet"
    assert engine.write(CHILD, None, child, Months("month", parent, SINCE)) == (26, 20)
    assert _rows(engine, child) == _expected(engine)


def test_a_mart_without_rows_reads_as_its_columns(engine, tmp_path):
    target = tmp_path / "m.parquet"
    assert engine.write(f"SELECT * FROM ({PARENT}) WHERE false", None, target, Months("month")) == (0, 0)
    assert [p.name for p in target.iterdir()] == ["none.parquet"]
    assert engine.con.sql('SELECT * FROM "m"').columns == ["month", "i"]


@pytest.mark.parametrize("months", [Months("month"), None], ids=["a file per month", "one file"])
def test_a_clustered_frame_keeps_each_key_in_few_row_groups(engine, tmp_path, monkeypatch, months):
    """A mart written clustered by a key (as the carbon reports' marts are, by employer): the
    same rows, and a query for one key finds it in the few row groups that its rows fill,
    the others ruled out by their min and max."""
    # DuckDB writes row groups of whole vectors (2,048 rows)
    monkeypatch.setattr(engine_module, "CLUSTERED_ROW_GROUP", 2048)
    rng = random.Random(7)
    rows = [(dt.date(2025, 1 + i % 2, 1), f"E{rng.randrange(40):04d}", i) for i in range(24_000)]
    frame = pl.DataFrame(rows, schema=["month", "employer_id", "i"], orient="row")
    target = tmp_path / "m.parquet"
    assert engine.write_frame(frame, target, months, cluster="employer_id")[0] == len(rows)
    source = f"read_parquet('{parquet_path(target)}')"
    assert engine.con.sql(f"SELECT month, employer_id, i FROM {source} ORDER BY i").fetchall() == rows
    groups = engine.con.sql(
        f"SELECT file_name, stats_min_value, stats_max_value FROM parquet_metadata('{parquet_path(target)}') "
        "WHERE path_in_schema = 'employer_id'"
    ).fetchall()
    per_file = collections.Counter(r[0] for r in groups)
    assert min(per_file.values()) >= 5  # 12,000 or 24,000 rows a file
    counts = collections.Counter((m if months else None, e) for m, e, _ in rows)
    for (month, key), n in counts.items():
        holding = [g for g in groups if g[1] <= key <= g[2] and (month is None or str(month) in g[0])]
        # a key's 300 rows a month (600 in all) fill one group, or two where a group ends
        assert len(holding) <= n // 2048 + 2, (month, key, n, len(holding))
