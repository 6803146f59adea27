"""The catalog: a view per table of a snapshot, settings below the machine's limits."""

from __future__ import annotations

import os

from pipelines.core import catalog
from pipelines.core.schema import TABLES


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
