"""The monthly benchmark's extracts: the first five months and the sixth, cut from a snapshot,
import back (the sixth extending the five) into the same tables."""

from __future__ import annotations

import datetime as dt
import os

import polars as pl
import pytest

from pipelines.bench import monthly
from pipelines.core import catalog
from pipelines.core.schema import TABLES
from pipelines.core.snapshot import Snapshot


def test_the_two_extracts_import_back_into_the_snapshot_they_were_cut_from(
    isolated_data, snapshot, monkeypatch, tmp_path
):
    # The test snapshot lives in the shared test data; the extracts and imports in this test's own.
    monkeypatch.setenv("CARD_INSIGHTS_DATA", os.environ["CARD_INSIGHTS_TEST_DATA"])
    source = Snapshot.open(snapshot)
    cut = monthly.write_extracts(snapshot, str(tmp_path / "extracts"))
    files = {t.name: source.files(t.name) for t in TABLES}
    monkeypatch.setenv("CARD_INSIGHTS_DATA", str(isolated_data))
    before = str(source.end.replace(day=1) - dt.timedelta(days=1))
    five = monthly.import_step(str(tmp_path / "extracts" / "history"), "five", cut["start"], before)
    assert monthly.gate_step("five")["rows"] == five["rows"]
    six = monthly.import_step(str(tmp_path / "extracts" / "month"), "six", cut["last"], cut["end"], extends="five")
    monthly.gate_step("six")
    with catalog.connect(Snapshot.open("six")) as mine:
        for t in TABLES:
            got = catalog.frame(mine, f'SELECT * FROM "{t.name}"').sort(t.key_columns)
            want = pl.read_parquet(files[t.name]).select(got.columns).sort(t.key_columns)
            assert got.equals(want), t.name
    assert six["rows"] == sum(source.manifest["tables"][t.name]["rows"] for t in TABLES if t.kind == "event")


def test_a_benchmark_that_fails_half_way_keeps_what_it_measured(monkeypatch, tmp_path):
    """An hour of measurements is not lost to a failure in the last history: the rows measured
    before it are written with where and why the run stopped, and the error still ends the run."""
    from pipelines.bench import run
    from pipelines.bench.harness import Measurement

    def half_way(scale, data):
        yield Measurement("update on 3 months", 12.5, 800.0, {"rows": 1000, "note": "measured"})
        raise RuntimeError("bench-12 failed the gate: purchases: no event in the future")

    monkeypatch.setattr(run.monthly, "part", half_way)
    results = tmp_path / "RESULTS.md"
    with pytest.raises(RuntimeError, match="failed the gate"):
        run.run_benchmarks([], 0, results, monthly_scale=3, log=lambda text: None)
    text = results.read_text()
    assert "| update on 3 months | 1,000 | 12.50 |  | 800 | measured |" in text
    assert "Stopped in a monthly update against the whole history and the new month alone at scale 3" in text
    assert "RuntimeError: bench-12 failed the gate: purchases: no event in the future" in text
