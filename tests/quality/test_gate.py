"""The gate: clean snapshots pass; every kind of bad input fails, naming table, column and rule."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from pipelines.core.snapshot import sha256_file, snapshot_path
from pipelines.ingest.generator import generate
from pipelines.quality.gate import GateError, require_passing, validate, validation_dir

NOW = dt.datetime(2026, 11, 23, 12, 0)


def _copy_test_snapshot(new_id: str) -> Path:
    src = Path(os.environ["CARD_INSIGHTS_TEST_DATA"]) / "snapshots" / "test"
    dst = snapshot_path(new_id)
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["snapshot"] = new_id
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst


def tamper(table: str, change: Callable[[pl.DataFrame], pl.DataFrame], new_id: str = "bad") -> str:
    """A copy of the test snapshot with one table changed and its manifest entry updated."""
    return tamper_tables({table: change}, new_id)


def tamper_tables(changes: dict[str, Callable[[pl.DataFrame], pl.DataFrame]], new_id: str = "bad") -> str:
    """A copy of the test snapshot with each of these tables changed, its manifest updated."""
    root = _copy_test_snapshot(new_id)
    manifest = json.loads((root / "manifest.json").read_text())
    for table, change in changes.items():
        frame = change(pl.read_parquet(root / table / "*.parquet"))
        shutil.rmtree(root / table)
        (root / table).mkdir()
        path = root / table / "part-0000.parquet"
        frame.write_parquet(path)
        manifest["tables"][table]["rows"] = frame.height
        manifest["tables"][table]["files"] = [
            {
                "path": f"{table}/part-0000.parquet",
                "rows": frame.height,
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
            }
        ]
    (root / "manifest.json").write_text(json.dumps(manifest))
    return new_id


def failed(verdict) -> set[tuple[str, str | None, str]]:
    return {(o.table, o.column, o.expectation["type"]) for o in verdict.failures}


def _set_row(frame: pl.DataFrame, column: str, row: int, value) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(value, dtype=frame.schema[column]))
        .otherwise(pl.col(column))
        .alias(column)
    )


def test_the_test_snapshot_passes_and_is_stored(snapshot):
    verdict = validate(snapshot, now=NOW)
    assert verdict.success, [o.expectation["description"] for o in verdict.failures]
    assert verdict.document["statistics"]["evaluated_expectations"] > 200
    stored = require_passing(snapshot)
    assert stored.verdict["suites_hash"] == verdict.document["suites_hash"]
    page = (validation_dir(snapshot) / "data_quality.html").read_text()
    assert "PASSED" in page and "http" not in page  # opens offline: nothing fetched
    assert "(SYNTHETIC data)</h1>" in page


def test_default_scale_snapshot_raises_no_false_alarm(isolated_data):
    generate("default-shape", scale=1, seed=42)
    verdict = validate("default-shape", now=NOW)
    assert verdict.success, [o.expectation["description"] for o in verdict.failures]


@pytest.mark.parametrize(
    ("table", "change", "expected"),
    [
        (
            "trips",
            lambda f: f.drop("fare"),
            {
                ("trips", None, "expect_table_columns_to_match_ordered_list"),
                ("trips", "fare", "expect_column_values_to_not_be_null"),
            },
        ),
        (
            "trips",
            lambda f: f.with_columns(pl.col("fare").cast(pl.String)),
            {("trips", "fare", "expect_column_values_to_be_of_type")},
        ),
        (
            "members",
            lambda f: _set_row(f, "member_id", 3, None),
            {("members", "member_id", "expect_column_values_to_not_be_null")},
        ),
        (
            "purchases",
            lambda f: _set_row(f, "purchase_id", 5, f["purchase_id"][4]),
            {("purchases", "purchase_id", "expect_column_values_to_be_unique")},
        ),
        (
            "purchases",
            lambda f: _set_row(_set_row(f, "amount", 1, -5), "amount", 2, 10_000_000),
            {("purchases", "amount", "expect_column_values_to_be_between")},
        ),
        (
            "purchases",
            lambda f: _set_row(f, "merchant_id", 0, "S9999999"),
            {("purchases", "merchant_id", "unexpected_rows_expectation")},
        ),
        (
            "trips",
            lambda f: _set_row(f, "origin_station_id", int(f["origin_station_id"].is_not_null().arg_max()), "R99"),
            {
                ("trips", "origin_station_id", "expect_column_values_to_be_in_set"),
                ("trips", "origin_station_id", "unexpected_rows_expectation"),
            },
        ),
        ("bill_payments", lambda f: f.head(0), {("bill_payments", None, "expect_table_row_count_to_be_between")}),
    ],
    ids=[
        "missing-column",
        "wrong-type",
        "null-key",
        "duplicate-id",
        "absurd-amounts",
        "orphan-fk",
        "unknown-station",
        "empty-table",
    ],
)
def test_bad_tables_fail_naming_table_column_and_rule(isolated_data, table, change, expected):
    bad = tamper(table, change)
    verdict = validate(bad, now=NOW)
    assert not verdict.success
    assert expected <= failed(verdict)
    with pytest.raises(GateError, match="failed validation"):
        require_passing(bad)


def test_events_outside_the_period_and_in_the_future(isolated_data):
    early, future = dt.datetime(2024, 12, 31, 23, 0), dt.datetime(2027, 1, 1, 8, 0)
    bad = tamper("trips", lambda f: _set_row(_set_row(f, "tap_in_at", 0, early), "tap_in_at", 1, future))
    verdict = validate(bad, now=NOW)
    by_rule = {o.expectation["description"]: o for o in verdict.failures}
    period = by_rule[
        "every trips.tap_in_at lies inside the snapshot's declared period (for an extension, inside the days it adds)"
    ]
    assert period.result["unexpected_count"] == 2
    future_rule = by_rule["no trips.tap_in_at lies in the future (Asia/Taipei time)"]
    assert future_rule.result["unexpected_count"] == 1
    assert len(future_rule.result["partial_unexpected_list"]) == 1
    # The page lists what failed before the hundreds of rules, suite by suite.
    before_suites = (validation_dir(bad) / "data_quality.html").read_text().split("Every rule, suite by suite")[0]
    assert f"What failed ({len(verdict.failures)})" in before_suites
    assert all(html.escape(rule) in before_suites for rule in by_rule)
    assert set(future_rule.result["partial_unexpected_list"][0]) == {"trip_id"}  # keys only


def test_minor_without_guardian_and_guardian_who_is_a_minor(isolated_data):
    def change(f: pl.DataFrame) -> pl.DataFrame:
        minors = f.with_row_index().filter(pl.col("guardian_member_id").is_not_null())["index"]
        young = f.with_row_index().filter(2025 - pl.col("birth_year") == 15)["member_id"][0]
        return _set_row(
            _set_row(f, "guardian_member_id", int(minors[0]), None), "guardian_member_id", int(minors[1]), young
        )

    verdict = validate(tamper("members", change), now=NOW)
    rules = {o.expectation["description"] for o in verdict.failures}
    assert "every member aged 14-20 has a guardian" in rules
    assert "every guardian is an adult (20 or older)" in rules


def test_truncated_parquet_is_caught_by_size_hash_and_reading(isolated_data):
    root = _copy_test_snapshot("cut")
    part = next((root / "purchases").glob("*.parquet"))
    size = part.stat().st_size
    part.write_bytes(part.read_bytes()[: size // 2])
    verdict = validate("cut", now=NOW)
    assert not verdict.success
    assert any(p["table"] == "purchases" and f"the manifest says {size:,}" in p["problem"] for p in verdict.integrity)
    # The same size but other bytes: the hash.
    part.write_bytes(part.read_bytes() + b"\0" * (size - size // 2))
    verdict = validate("cut", now=NOW)
    assert any(p["table"] == "purchases" and "sha256" in p["problem"] for p in verdict.integrity)
    # Even with the manifest rewritten to match, a half file is not Parquet.
    part.write_bytes(part.read_bytes()[: size // 2])
    manifest = json.loads((root / "manifest.json").read_text())
    for f in manifest["tables"]["purchases"]["files"]:
        f["sha256"] = sha256_file(root / f["path"])
        f["bytes"] = (root / f["path"]).stat().st_size
    (root / "manifest.json").write_text(json.dumps(manifest))
    verdict = validate("cut", now=NOW)
    assert any(p["table"] == "purchases" and "not readable as Parquet" in p["problem"] for p in verdict.integrity)


def test_missing_table_fails(isolated_data):
    root = _copy_test_snapshot("holey")
    shutil.rmtree(root / "transfers")
    verdict = validate("holey", now=NOW)
    assert not verdict.success
    assert any(p["table"] == "transfers" and p["problem"] == "file is missing" for p in verdict.integrity)
    assert ("transfers", None, "expect_table_columns_to_match_ordered_list") in failed(verdict)


def test_editing_a_suite_invalidates_old_verdicts(snapshot, tmp_path, monkeypatch):
    validate(snapshot, now=NOW)
    require_passing(snapshot)
    from pipelines.quality import gate, suites

    copy = tmp_path / "expectations"
    shutil.copytree(suites.EXPECTATIONS_DIR, copy)
    edited = json.loads((copy / "trips.json").read_text())
    edited["expectations"] = edited["expectations"][:-1]
    (copy / "trips.json").write_text(json.dumps(edited))
    monkeypatch.setattr(gate, "suites_hash", lambda: suites.suites_hash(copy))
    with pytest.raises(GateError, match="older expectation suites"):
        require_passing(snapshot)


def test_unvalidated_snapshot_is_refused(isolated_data):
    _copy_test_snapshot("fresh")
    with pytest.raises(GateError, match="has not been validated"):
        require_passing("fresh")


def test_cli_exit_codes_and_failure_report(isolated_data):
    bad = tamper("purchases", lambda f: _set_row(f, "merchant_id", 0, "S9999999"))
    env = {**os.environ, "CARD_INSIGHTS_DATA": str(isolated_data)}
    run = subprocess.run(
        [sys.executable, "-m", "pipelines", "validate", "-s", bad], capture_output=True, text=True, env=env
    )
    assert run.returncode == 1
    assert "purchases.merchant_id" in run.stderr
    assert "every purchases.merchant_id exists in merchants.merchant_id" in run.stderr
    assert "purchase_id=" in run.stderr  # sample keys
    _copy_test_snapshot("good")
    ok = subprocess.run(
        [sys.executable, "-m", "pipelines", "validate", "-s", "good"], capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0, ok.stderr


def test_a_month_without_transit_fails_the_gate(isolated_data):
    bad = tamper("trips", lambda f: f.filter(pl.col("tap_in_at").dt.month() != 3), "no-march-transit")
    verdict = validate(bad, now=NOW)
    months = [o for o in verdict.failures if o.table == "monthly_volume"]
    assert months and months[0].result["partial_unexpected_list"] == [{"table_name": "trips", "month": "2025-03-01"}]


def test_an_adult_with_a_guardian_fails_the_gate(isolated_data):
    def adopt(frame: pl.DataFrame) -> pl.DataFrame:
        adult = frame.filter(pl.col("birth_year") < 1990)["member_id"][0]
        guardian = frame.filter(pl.col("birth_year") < 1980)["member_id"][1]
        return frame.with_columns(
            pl.when(pl.col("member_id") == adult)
            .then(pl.lit(guardian))
            .otherwise("guardian_member_id")
            .alias("guardian_member_id")
        )

    verdict = validate(tamper("members", adopt, "adopted-adult"), now=NOW)
    assert [o.expectation["description"] for o in verdict.failures] == ["only members aged 14-20 have a guardian"]


def test_a_join_date_in_the_future_fails_the_gate(isolated_data):
    later = tamper("members", lambda f: _set_row(f, "join_date", 2, dt.date(2027, 1, 1)), "time-traveller")
    verdict = validate(later, now=NOW)
    assert {(o.table, o.column) for o in verdict.failures} == {("members", "join_date")}


def test_a_file_edited_after_validation_is_refused_at_use(isolated_data):
    root = _copy_test_snapshot("edited")
    assert validate("edited", now=NOW).success
    require_passing("edited")  # fine as validated
    part = next((root / "purchases").glob("*.parquet"))
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte flipped, the size unchanged
    part.write_bytes(bytes(data))
    with pytest.raises(GateError, match=r"not as it was validated: purchases/.*sha256 differs"):
        require_passing("edited")


def test_a_stray_file_is_refused_at_use_and_never_read(isolated_data):
    from pipelines.core import catalog

    root = _copy_test_snapshot("stray")
    assert validate("stray", now=NOW).success
    before = catalog.connect("stray").execute("SELECT count(*) FROM purchases").fetchone()[0]
    stray = root / "purchases" / "part-extra.parquet"
    pl.read_parquet(next((root / "purchases").glob("*.parquet"))).write_parquet(stray)
    assert catalog.connect("stray").execute("SELECT count(*) FROM purchases").fetchone()[0] == before
    with pytest.raises(GateError, match=r"purchases/part-extra\.parquet: file is not in the manifest"):
        require_passing("stray")
    verdict = validate("stray", now=NOW)
    assert not verdict.success
    assert any("not in the manifest" in p["problem"] for p in verdict.integrity)


def test_the_notebooks_of_a_run_leave_the_files_to_the_run(isolated_data, monkeypatch):
    """Only the snapshot the run checked, named by its manifest hash, skips the file check."""
    from pipelines.core.snapshot import Snapshot
    from pipelines.quality.gate import CHECKED_BY_RUN

    root = _copy_test_snapshot("checked")
    assert validate("checked", now=NOW).success
    pl.read_parquet(next((root / "trips").glob("*.parquet"))).write_parquet(root / "trips" / "part-extra.parquet")
    for checked in ("", "0" * 64):  # unset, or another snapshot's
        monkeypatch.setenv(CHECKED_BY_RUN, checked)
        with pytest.raises(GateError, match=r"trips/part-extra\.parquet: file is not in the manifest"):
            require_passing("checked")
    monkeypatch.setenv(CHECKED_BY_RUN, Snapshot.open("checked").manifest_sha256)
    assert require_passing("checked").id == "checked"


def test_a_report_builds_the_marts_unless_its_run_did(snapshot, monkeypatch):
    """notebook.start leaves the marts to the run that names the snapshot, and only to it."""
    from pipelines import marts
    from pipelines.core.snapshot import Snapshot
    from pipelines.quality.gate import CHECKED_BY_RUN
    from pipelines.reporting import notebook

    assert validate(snapshot, now=NOW).success
    builds = []
    monkeypatch.setattr(marts, "build", lambda snap: builds.append(snap.id))
    for token, built in (("", 1), ("0" * 64, 2), (Snapshot.open(snapshot).manifest_sha256, 2)):
        monkeypatch.setenv(CHECKED_BY_RUN, token)
        with pl.Config():  # start sets the notebooks' table printing
            notebook.start(snapshot)
        assert len(builds) == built, token


def test_links_are_never_taken_for_the_snapshots_files(isolated_data):
    """A listed file replaced by a link to a good copy is missing, and a linked folder is a
    stray, at use as at the gate: a snapshot's files are its own, never somewhere else."""
    root = _copy_test_snapshot("linked")
    assert validate("linked", now=NOW).success
    part = next((root / "purchases").glob("*.parquet"))
    copy = isolated_data / "elsewhere.parquet"
    part.rename(copy)
    part.symlink_to(copy)
    (root / "purchases" / "more").symlink_to(isolated_data)
    with pytest.raises(GateError, match=r"not as it was validated") as refused:
        require_passing("linked")
    relative = str(part.relative_to(root))
    assert f"{relative}: file is missing" in str(refused.value)
    problems = {(p["file"], p["problem"]) for p in validate("linked", now=NOW).integrity}
    assert problems == {(relative, "file is missing"), ("purchases/more", "file is not in the manifest: remove it")}


def test_a_table_folder_replaced_by_a_file_is_refused_not_a_crash(isolated_data):
    """Its listed files are missing (not an error from the file system) and the file a stray."""
    root = _copy_test_snapshot("flattened")
    assert validate("flattened", now=NOW).success
    shutil.rmtree(root / "transfers")
    (root / "transfers").write_bytes(b"not a folder")
    with pytest.raises(GateError, match=r"transfers/.*: file is missing"):
        require_passing("flattened")


def test_the_bands_are_configuration_and_the_observed_volume_is_recorded(snapshot, tmp_path):
    from pipelines.quality import bands, gate, suites

    verdict = validate(snapshot, now=NOW)
    observed = {r["table_name"]: r for r in verdict.document["observed"]["volume"]}
    assert set(observed) == {"trips", "purchases", "bill_payments", "transfers"}
    assert observed["trips"]["per_payer_month"] > 1
    assert "Volume observed" in (validation_dir(snapshot) / "data_quality.html").read_text()
    strict = tmp_path / "bands.toml"
    text = bands.BANDS_FILE.read_text().replace("trips = [1.0, 400.0]", "trips = [100.0, 400.0]")
    strict.write_text(text)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(suites, "BANDS_FILE", strict)
            mp.setattr(gate, "load_bands", lambda: bands.load_bands(strict))
            assert [o.table for o in validate(snapshot, now=NOW).failures] == ["volume_trips"]
    finally:
        assert validate(snapshot, now=NOW).success  # the session's snapshot stays validated
    strict.write_text(text.replace("[compared_with_previous]", "[compared_with_previous]\ntypo = 1"))
    with pytest.raises(ValueError, match=r"unknown key.*typo"):
        bands.load_bands(strict)
