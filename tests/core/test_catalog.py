"""The catalog: a view per table of a snapshot, settings below the machine's limits."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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


def _copy(source: Path, data: Path) -> Snapshot:
    shutil.copytree(source, data / "snapshots" / source.name)
    return Snapshot.open(source.name)


def _rows_and_sources(snap: Snapshot) -> tuple[dict[str, int], dict[str, str]]:
    with catalog.connect(snap) as con:
        rows = {t.name: con.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0] for t in TABLES}
        sources = dict(con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall())
    return rows, sources


def test_views_read_exactly_the_manifests_files_glob_or_list(snapshot, tmp_path, monkeypatch):
    """A table's view reads its folder's glob when the folder holds exactly the manifest's
    files, and the list of them otherwise: a stray file is never read."""
    source = Snapshot.open(snapshot).folder
    data = tmp_path / "data [copy]"  # a glob character in the path: lists throughout
    for folder, globbed in ((tmp_path / "data", True), (data, False)):
        monkeypatch.setenv("CARD_INSIGHTS_DATA", str(folder))
        snap = _copy(source, folder)
        listed = {name: sum(f["rows"] for f in t["files"]) for name, t in snap.manifest["tables"].items()}
        rows, sources = _rows_and_sources(snap)
        assert rows == listed
        assert all(("*.parquet" in sources[t.name]) == globbed for t in TABLES), folder
    first = snap.manifest["tables"]["trips"]["files"][0]["path"]
    monkeypatch.setenv("CARD_INSIGHTS_DATA", str(tmp_path / "data"))
    snap = Snapshot.open(snapshot)
    shutil.copy(snap.folder / first, snap.folder / "trips" / "stray.parquet")
    rows, sources = _rows_and_sources(snap)
    assert rows == listed
    assert "*.parquet" not in sources["trips"] and "*.parquet" in sources["purchases"]
