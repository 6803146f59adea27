"""The catalog: a view per table of a snapshot, settings below the machine's limits."""

from __future__ import annotations

import os
import shutil

from pipelines.core import catalog
from pipelines.core.schema import TABLES
from pipelines.core.snapshot import Snapshot


def test_catalog_exposes_every_table(snapshot):
    with catalog.connect(snapshot) as con:
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        assert views == {t.name for t in TABLES} | {"period_months"}
        assert con.execute("SELECT count(*), bool_and(complete) FROM period_months").fetchone() == (6, True)
        for t in TABLES:
            assert con.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0] > 0


def test_catalog_defaults_to_the_latest_snapshot(snapshot):
    with catalog.connect() as con:
        assert con.execute("SELECT count(*) FROM members").fetchone()[0] > 0


def test_catalog_settings_stay_below_the_machine(monkeypatch):
    monkeypatch.delenv("CARD_INSIGHTS_DUCKDB_MEMORY", raising=False)
    s = catalog.settings()
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    assert int(s.memory_limit.removesuffix("GB")) < ram_gb
    with catalog.connect() as con:
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == s.threads


def test_views_read_exactly_the_manifests_files(snapshot, tmp_path, monkeypatch):
    """The file lists reach DuckDB as bound values: a quote or a glob character in the path
    is only a character, a stray file is never read, a missing one is an error."""
    import duckdb
    import pytest

    source = Snapshot.open(snapshot).folder
    data = tmp_path / "data [it's *]"
    shutil.copytree(source, data / "snapshots" / snapshot)
    monkeypatch.setenv("CARD_INSIGHTS_DATA", str(data))
    snap = Snapshot.open(snapshot)
    listed = {name: sum(f["rows"] for f in t["files"]) for name, t in snap.manifest["tables"].items()}
    trips = snap.folder / snap.manifest["tables"]["trips"]["files"][0]["path"]
    shutil.copy(trips, trips.with_name("stray.parquet"))
    with catalog.connect(snap) as con:
        assert {t.name: con.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0] for t in TABLES} == listed
        trips.unlink()
        with pytest.raises(duckdb.IOException, match=r"No files found|does not exist"):
            con.execute("SELECT count(*) FROM trips").fetchone()


def test_a_cursor_reads_the_same_tables_and_a_bare_one_fails_loudly(snapshot):
    import duckdb
    import pytest

    with catalog.connect(snapshot) as con:
        counts = {t.name: con.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0] for t in TABLES}
        cur = catalog.cursor(con)
        assert {t.name: cur.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0] for t in TABLES} == counts
        with pytest.raises(duckdb.ParserException, match="cannot take NULL list"):
            con.cursor().execute("SELECT count(*) FROM trips")
