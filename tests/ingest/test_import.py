"""Bring your own data: the contract is checked, CSV and Parquet import, volume drift is caught."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipelines.core.schema import TABLES
from pipelines.ingest.importer import ContractError, import_source
from pipelines.quality.gate import validate

NOW = dt.datetime(2026, 11, 23, 12, 0)
START, END = dt.date(2025, 1, 1), dt.date(2025, 6, 30)


def _test_table(name: str) -> pl.DataFrame:
    return pl.read_parquet(Path(os.environ["CARD_INSIGHTS_TEST_DATA"]) / "snapshots" / "test" / name / "*.parquet")


def extract(folder: Path, csv: tuple[str, ...] = (), change: dict | None = None) -> Path:
    """An operator-style extract of the test snapshot: one file per table."""
    folder.mkdir(parents=True, exist_ok=True)
    for t in TABLES:
        frame = _test_table(t.name)
        if change and t.name in change:
            frame = change[t.name](frame)
        if t.name in csv:
            frame.write_csv(folder / f"{t.name}.csv")
        else:
            frame.write_parquet(folder / f"{t.name}.parquet")
    return folder


def test_parquet_and_csv_extract_imports_and_passes(isolated_data, tmp_path):
    shuffled = {t.name: lambda f: f.sample(fraction=1.0, shuffle=True, seed=7) for t in TABLES if t.time_column}
    source = extract(tmp_path / "src", csv=("members", "purchases"), change=shuffled)
    manifest = import_source(source, "op-2025h1", START, END)
    assert manifest["synthetic"] is False and manifest["made_by"]["tool"] == "import"
    assert manifest["tables"]["purchases"]["rows"] == _test_table("purchases").height
    # Event tables are written in time order, whatever the extract's order, so the marts'
    # one-month queries skip row groups.
    for t in (t for t in TABLES if t.time_column):
        stored = pl.read_parquet(isolated_data / "snapshots" / "op-2025h1" / t.name / "*.parquet")
        assert stored[t.time_column].is_sorted(), t.name
    verdict = validate("op-2025h1", now=NOW)
    assert verdict.success, [o.expectation["description"] for o in verdict.failures]


def test_every_contract_problem_is_listed_and_nothing_is_written(isolated_data, tmp_path):
    source = extract(
        tmp_path / "src",
        change={
            "trips": lambda f: f.drop("fare").with_columns(pl.col("card_id").alias("extra")),
            "members": lambda f: f.with_columns(pl.col("birth_year").cast(pl.String)),
        },
    )
    (source / "transfers.parquet").unlink()
    (source / "notes.txt").write_text("hello")
    with pytest.raises(ContractError) as err:
        import_source(source, "broken", START, END)
    problems = "\n".join(err.value.problems)
    assert "trips.fare: column is missing" in problems
    assert "trips.extra: column is not in the data dictionary" in problems
    assert "members.birth_year: type VARCHAR, expected INTEGER" in problems
    assert "transfers: table is missing" in problems
    assert "notes.txt: not a .parquet or .csv file" in problems
    assert not (isolated_data / "snapshots" / "broken").exists()


def test_csv_that_is_not_utf8_is_refused(isolated_data, tmp_path):
    source = extract(tmp_path / "src", csv=("merchants",))
    header, first, rest = (source / "merchants.csv").read_bytes().split(b"\n", 2)
    merchant_id, name = first.split(b",", 1)
    first = merchant_id + b"," + "caf\u00e9 ".encode("latin-1") + name  # a Latin-1 e-acute
    (source / "merchants.csv").write_bytes(b"\n".join([header, first, rest]))
    with pytest.raises(ContractError, match=r"merchants.csv is not UTF-8: byte 0xe9 at offset [0-9,]+ \(line 2\)"):
        import_source(source, "latin", START, END)


def test_csv_values_of_the_wrong_type_are_named(isolated_data, tmp_path):
    source = extract(
        tmp_path / "src",
        csv=("bill_payments",),
        change={"bill_payments": lambda f: f.with_columns(pl.col("amount").cast(pl.String).str.replace("^1", "one"))},
    )
    with pytest.raises(ContractError, match=r"bill_payments.amount: [0-9,]+ values are not BIGINT \(e.g. 'one"):
        import_source(source, "typo", START, END)


def test_halved_extract_fails_against_the_previous_one(isolated_data, tmp_path):
    import_source(extract(tmp_path / "full"), "jan-jun", START, END)
    half = extract(tmp_path / "half", change={"trips": lambda f: f.filter(pl.int_range(pl.len()) % 2 == 0)})
    import_source(half, "jan-jun-reload", START, END)
    verdict = validate("jan-jun-reload", previous="jan-jun", now=NOW)
    by_rule = {o.expectation["description"]: o for o in verdict.failures}
    drift = [o for d, o in by_rule.items() if d.startswith("each table's rows per day")]
    assert drift and drift[0].result["partial_unexpected_list"] == [{"table_name": "trips"}]
    assert any(d.startswith("each scene's share of events moved") for d in by_rule)  # transit share dropped
    # Every row on its own is valid: only the comparison catches the half load.
    assert all(o.suite == "volume" for o in verdict.failures)


def test_same_extract_again_passes_the_comparison(isolated_data, tmp_path):
    import_source(extract(tmp_path / "a"), "one", START, END)
    import_source(extract(tmp_path / "b"), "two", START, END)
    verdict = validate("two", previous="one", now=NOW)
    assert verdict.success
    # Every rule applies, the comparison with the previous snapshot too, but those of a monthly
    # extension (the new days' IDs, the parent's campaigns kept): "two" extends nothing.
    not_applicable = [o.expectation["meta"]["table"] for o in verdict.outcomes if o.success is None]
    assert not_applicable == ["reused_ids", "dropped_campaigns"]


def test_cli_import_validates_against_the_previous_import(isolated_data, tmp_path):
    env = {**os.environ, "CARD_INSIGHTS_DATA": str(isolated_data)}
    args = [sys.executable, "-m", "pipelines", "import", "--start", "2025-01-01", "--end", "2025-06-30"]
    first = subprocess.run([*args, str(extract(tmp_path / "a")), "-s", "m1"], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    half = extract(tmp_path / "b", change={"purchases": lambda f: f.head(f.height // 2)})
    second = subprocess.run([*args, str(half), "-s", "m2"], capture_output=True, text=True, env=env)
    assert second.returncode == 1
    assert "volume_change.rows_per_day_ratio" in second.stderr


def test_an_extract_without_campaigns_imports_with_them_empty(isolated_data, tmp_path):
    source = extract(tmp_path / "src")
    for name in ("campaigns", "campaign_assignments", "redemptions"):
        (source / f"{name}.parquet").unlink()
    manifest = import_source(source, "no-campaigns", START, END)
    assert all(manifest["tables"][t]["rows"] == 0 for t in ("campaigns", "campaign_assignments", "redemptions"))
    assert validate("no-campaigns", now=NOW).success


def test_an_extract_carries_its_own_campaigns_as_csv(isolated_data, tmp_path):
    source = extract(tmp_path / "src", csv=("campaigns", "campaign_assignments", "redemptions"))
    manifest = import_source(source, "own-campaigns", START, END)
    for name in ("campaigns", "campaign_assignments", "redemptions"):
        assert manifest["tables"][name]["rows"] == _test_table(name).height > 0
    assert validate("own-campaigns", now=NOW).success
