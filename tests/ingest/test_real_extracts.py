"""Extracts shaped as real operators' are: reference tables left out, a scene the operator does
not run, unknown demographics, times with a UTC offset, decimal money, zero-value orders,
links. Each imports (or is refused with the reason), passes the gate and gives every report
that applies."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipelines.core.schema import SCENE_TABLES
from pipelines.core.snapshot import Snapshot
from pipelines.ingest.importer import ContractError, import_source
from pipelines.quality.gate import validate
from pipelines.reporting import runner, words
from tests.ingest.test_import import END, NOW, START, _test_table, extract


def _import(source: Path, snapshot: str, **kwargs) -> Snapshot:
    import_source(source, snapshot, START, END, **kwargs)
    verdict = validate(snapshot, now=NOW)
    assert verdict.success, [(o.table, o.expectation["description"], o.result) for o in verdict.failures]
    return Snapshot.open(snapshot)


def _without(folder: Path, *tables: str) -> Path:
    for t in tables:
        (folder / f"{t}.parquet").unlink()
    return folder


def test_reference_tables_default_to_the_committed_ones(isolated_data, tmp_path):
    snap = _import(_without(extract(tmp_path / "src"), "districts", "stations"), "no-reference")
    assert snap.manifest["made_by"]["reference_tables_from"] == {
        "districts": "data/reference/",
        "stations": "data/reference/",
    }
    stored = pl.read_parquet(snap.files("stations"))
    assert stored.sort("station_id").equals(_test_table("stations").sort("station_id"))


def test_times_with_a_utc_offset_are_converted_to_taipei(isolated_data, tmp_path):
    local = _test_table("purchases")

    def as_text(frame: pl.DataFrame) -> pl.DataFrame:
        utc = pl.col("purchased_at") - pl.duration(hours=8)
        # Half the rows in UTC with Z, the other half at +08:00 as the local time itself.
        z = utc.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        plus8 = pl.col("purchased_at").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+08:00")
        return frame.with_columns(
            pl.when(pl.col("purchase_id") % 2 == 0).then(z).otherwise(plus8).alias("purchased_at")
        )

    snap = _import(extract(tmp_path / "src", csv=("purchases",), change={"purchases": as_text}), "offsets")
    stored = pl.read_parquet(snap.files("purchases")).sort("purchase_id")
    assert stored["purchased_at"].equals(local.sort("purchase_id")["purchased_at"])


def test_a_parquet_timestamp_with_a_zone_is_converted_to_taipei(isolated_data, tmp_path):
    def zoned(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.col("paid_at").dt.replace_time_zone("Asia/Taipei").dt.convert_time_zone("UTC"))

    snap = _import(extract(tmp_path / "src", change={"bill_payments": zoned}), "zoned")
    stored = pl.read_parquet(snap.files("bill_payments")).sort("bill_payment_id")
    assert stored["paid_at"].equals(_test_table("bill_payments").sort("bill_payment_id")["paid_at"])


def _decimal_amounts(frame: pl.DataFrame) -> pl.DataFrame:
    first = pl.int_range(pl.len()) == 0
    second = pl.int_range(pl.len()) == 1
    amount = pl.col("amount").cast(pl.Float64)
    return frame.with_columns(pl.when(first).then(127.5).when(second).then(10.4).otherwise(amount).alias("amount"))


@pytest.mark.parametrize("csv", [True, False], ids=["csv", "parquet"])
def test_decimal_money_is_refused_unless_rounding_is_asked_for(isolated_data, tmp_path, csv):
    source = extract(tmp_path / "src", csv=("purchases",) if csv else (), change={"purchases": _decimal_amounts})
    with pytest.raises(ContractError, match=r"purchases.amount: .*(whole NT\$|decimal amounts).*--round-money") as err:
        import_source(source, "decimals", START, END)
    assert not any("trips" in p for p in err.value.problems)
    snap = _import(source, "decimals", round_money=True)
    amounts = pl.read_parquet(snap.files("purchases")).sort("purchase_id")["amount"].head(2).to_list()
    assert amounts == [128, 10]  # half away from zero
    assert snap.manifest["made_by"]["money_rounded"] is True


def test_a_decimal_in_a_whole_number_column_is_always_refused(isolated_data, tmp_path):
    def half_year(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.col("birth_year").cast(pl.String).str.replace("$", ".5"))

    source = extract(tmp_path / "src", csv=("members",), change={"members": half_year})
    with pytest.raises(ContractError, match=r"members.birth_year: [0-9,]+ values are not INTEGER \(e.g. '[0-9]+\.5'\)"):
        import_source(source, "half-years", START, END, round_money=True)


def test_zero_value_orders_import(isolated_data, tmp_path):
    free = {
        "purchases": lambda f: f.with_columns(
            pl.when(pl.col("purchase_id") % 50 == 0).then(0).otherwise("amount").alias("amount")
        )
    }
    snap = _import(extract(tmp_path / "src", change=free), "free-orders")
    assert pl.read_parquet(snap.files("purchases"))["amount"].min() == 0


def test_symbolic_links_are_refused(isolated_data, tmp_path):
    outside = tmp_path / "elsewhere.parquet"
    source = extract(tmp_path / "src")
    (source / "transfers.parquet").rename(outside)
    (source / "transfers.parquet").symlink_to(outside)
    folder = source / "trips"
    folder.mkdir()
    (source / "trips.parquet").rename(folder / "part-0.parquet")
    (folder / "part-1.parquet").symlink_to(outside)
    with pytest.raises(ContractError) as err:
        import_source(source, "linked", START, END)
    problems = "\n".join(err.value.problems)
    assert "transfers.parquet: is a symbolic link" in problems
    assert "trips/part-1.parquet: is a symbolic link" in problems


def _monthly(snap: Snapshot, reports: Path, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("CARD_INSIGHTS_REPORTS", str(reports))
    result = runner.run(snap.id, force=True)
    assert result.ok, [(o.report.name, o.error) for o in result.outcomes]
    # An operator's own data is never called synthetic on the pages around the reports.
    for page in (result.folder / "index.html", result.folder / "data_quality.html", reports / snap.id / "index.html"):
        assert "(imported data)" in page.read_text() and "SYNTHETIC" not in page.read_text(), page
    return {o.report.name: (result.folder / f"{o.report.name}.html").read_text() for o in result.outcomes}


@pytest.mark.parametrize(
    ("present", "families"),
    [
        ("retail", {"segments", "merchant_profile", "campaigns"}),
        ("transit", {"segments", "commute_carbon"}),
    ],
)
def test_an_operator_with_one_scene_imports_and_gets_every_report_that_applies(
    isolated_data, tmp_path, monkeypatch, present, families
):
    absent = tuple(s for s in SCENE_TABLES if s != present)
    # Campaigns are offers on retail purchases: an operator without retail has none.
    campaigns = () if present == "retail" else ("campaigns", "campaign_assignments", "redemptions")
    source = _without(extract(tmp_path / "src"), *(SCENE_TABLES[s] for s in absent), *campaigns)
    snap = _import(source, f"only-{present}", absent_scenes=absent)
    assert snap.scenes == (present,) and set(snap.absent_tables) == {SCENE_TABLES[s] for s in absent}
    verdict = validate(snap.id, now=NOW)
    not_applicable = {o.table for o in verdict.outcomes if o.success is None}
    assert {f"volume_{SCENE_TABLES[s]}" for s in absent} <= not_applicable
    pages = _monthly(snap, tmp_path / "reports", monkeypatch)
    assert {name.split("-")[0] for name in pages} == families


def test_a_table_of_an_absent_scene_must_be_empty(isolated_data, tmp_path):
    import_source(extract(tmp_path / "src"), "claims-no-p2p", START, END, absent_scenes=("p2p",))
    verdict = validate("claims-no-p2p", now=NOW)
    assert not verdict.success
    assert {(o.table, o.expectation["type"]) for o in verdict.failures} == {
        ("transfers", "expect_table_row_count_to_be_between")
    }


def test_unknown_demographics_import_and_read_as_unknown(isolated_data, tmp_path, monkeypatch):
    def forget(frame: pl.DataFrame) -> pl.DataFrame:
        # A third of the members without gender, birth year or home district; guardians stay
        # only where the age is still known (a guardian is only for a minor).
        unknown = pl.col("member_id").str.slice(-1).cast(pl.Int32) % 3 == 0
        return frame.with_columns(
            *(
                pl.when(unknown).then(None).otherwise(pl.col(c)).alias(c)
                for c in ("gender", "birth_year", "home_district_id")
            ),
            pl.when(unknown).then(None).otherwise(pl.col("guardian_member_id")).alias("guardian_member_id"),
        )

    snap = _import(extract(tmp_path / "src", change={"members": forget}), "unknowns")
    pages = _monthly(snap, tmp_path / "reports", monkeypatch)
    from pipelines import marts

    marts.build(snap)
    with marts.connect(snap) as con:
        cells = con.execute(
            "SELECT DISTINCT dimension FROM merchant_cells WHERE value = 'unknown' ORDER BY 1"
        ).fetchall()
    assert [c[0] for c in cells] == ["age_band", "gender", "home_district"]
    # The segment report's own word for "not recorded", in its default language.
    assert words.load("zh-TW").label("gender", "unknown") in pages["segments"]


def test_a_failed_import_leaves_nothing_and_the_id_can_be_used_again(isolated_data, tmp_path):
    env = {**os.environ, "CARD_INSIGHTS_DATA": str(isolated_data)}
    args = [sys.executable, "-m", "pipelines", "import", "--start", "2025-01-01", "--end", "2025-06-30", "-s", "again"]
    future = {"members": lambda f: f.with_columns(pl.lit(dt.date(2031, 1, 1)).alias("join_date"))}
    bad = subprocess.run(
        [*args, str(extract(tmp_path / "bad", change=future))], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 1
    assert "members.join_date" in bad.stderr and "was removed" in bad.stderr
    assert not (isolated_data / "snapshots" / "again").exists()
    good = subprocess.run([*args, str(extract(tmp_path / "good"))], capture_output=True, text=True, env=env)
    assert good.returncode == 0, good.stderr


def test_snapshots_remove_deletes_a_snapshot_and_what_was_made_from_it(isolated_data, tmp_path):
    _import(extract(tmp_path / "src"), "doomed")
    env = {**os.environ, "CARD_INSIGHTS_DATA": str(isolated_data)}
    base = [sys.executable, "-m", "pipelines", "snapshots"]
    done = subprocess.run([*base, "remove", "doomed", "--yes"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert not (isolated_data / "snapshots" / "doomed").exists()
    assert not (isolated_data / "validation" / "doomed").exists()
    unknown = subprocess.run([*base, "remove", "doomed", "--yes"], capture_output=True, text=True, env=env)
    assert unknown.returncode == 1 and "unknown snapshot 'doomed'" in unknown.stderr
