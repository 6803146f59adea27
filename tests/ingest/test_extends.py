"""Monthly snapshots that extend the last one: the parent's events are shared, not copied; the
gate checks the new month and the rules across months; together they read as one snapshot."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipelines.core import catalog
from pipelines.core.schema import EVENT_TABLES, TABLES, table
from pipelines.core.snapshot import Snapshot, remove_snapshot
from pipelines.ingest.importer import ContractError, import_source
from pipelines.quality.gate import GateError, previous_of, require_passing, validate
from tests.ingest.test_import import NOW, _test_table

START, PARENT_END, END = dt.date(2025, 1, 1), dt.date(2025, 5, 31), dt.date(2025, 6, 30)
JUNE, JULY = dt.date(2025, 6, 1), dt.date(2025, 7, 1)


def _as_of(name: str, frame: pl.DataFrame, stop: dt.date) -> pl.DataFrame:
    """What an extract made on the eve of `stop` holds of a table: events before it, the
    campaigns started by then, their members, and the redemptions of purchases made by then."""
    spec = table(name)
    if spec.time_column:
        return frame.filter(pl.col(spec.time_column) < stop)
    if name == "campaigns":
        return frame.filter(pl.col("start_date") < stop)
    if name == "campaign_assignments":
        return frame.join(_as_of("campaigns", _test_table("campaigns"), stop), on="campaign_id", how="semi")
    if name == "redemptions":
        return frame.join(_as_of("purchases", _test_table("purchases"), stop), on="purchase_id", how="semi")
    return frame


def extract_as_of(
    folder: Path,
    start: dt.date | None,
    stop: dt.date,
    change: dict | None = None,
    leave_out: tuple[str, ...] = (),
) -> Path:
    """The test snapshot's extract made on the eve of `stop`: the events from `start` (None:
    all before `stop`), and the members, cards, merchants, employers and campaigns of that day
    (whole tables); `change` edits a table, `leave_out` leaves tables out."""
    folder.mkdir(parents=True, exist_ok=True)
    for t in TABLES:
        if t.name in leave_out:
            continue
        frame = _as_of(t.name, _test_table(t.name), stop)
        if t.time_column and start is not None:
            frame = frame.filter(pl.col(t.time_column) >= start)
        frame = change[t.name](frame) if change and t.name in change else frame
        frame.write_parquet(folder / f"{t.name}.parquet")
    return folder


def may_extract(folder: Path) -> Path:
    return extract_as_of(folder, None, JUNE)


def june_extract(folder: Path, change: dict | None = None, leave_out: tuple[str, ...] = ()) -> Path:
    """The extract made at the end of June: June's events, and the current members, cards,
    merchants, employers and campaigns (whole tables)."""
    return extract_as_of(folder, JUNE, JULY, change, leave_out)


@pytest.fixture()
def may(isolated_data, tmp_path) -> str:
    import_source(may_extract(tmp_path / "may"), "2025-05", START, PARENT_END)
    assert validate("2025-05", now=NOW).success
    return "2025-05"


def _passed(snapshot: str) -> None:
    verdict = validate(snapshot, now=NOW)
    assert verdict.success, [
        (o.expectation["meta"]["table"], o.expectation.get("description")) for o in verdict.failures
    ]


def test_an_extension_reads_as_the_whole_period_and_shares_the_parents_files(may, tmp_path):
    manifest = import_source(june_extract(tmp_path / "june"), "2025-06", JUNE, END, extends=may)
    assert manifest["period"] == {"start": "2025-01-01", "end": "2025-06-30"}
    assert manifest["extends"]["snapshot"] == may and manifest["extends"]["new_start"] == "2025-06-01"
    _passed("2025-06")
    child, parent = Snapshot.open("2025-06"), Snapshot.open(may)
    # Every table reads as the whole six months do (the test snapshot), row for row.
    with catalog.connect(child) as con:
        for t in TABLES:
            got = catalog.frame(con, f'SELECT * FROM "{t.name}"').sort(t.key_columns)
            want = _test_table(t.name).select(got.columns).sort(t.key_columns)
            assert got.equals(want), t.name
    # May's event files are the parent's very files (hard links), listed with where they came from.
    for name in EVENT_TABLES:
        shared = child.shared_files(name)
        assert [p.name for p in shared] == [p.name for p in parent.files(name)]
        for mine, theirs in zip(shared, parent.files(name), strict=True):
            assert mine.stat().st_ino == theirs.stat().st_ino and mine.stat().st_nlink >= 2
        assert [p.name for p in child.own_files(name)] == ["part-20250601.parquet"]
        assert all(f["from"] == may for f in child.manifest["tables"][name]["files"] if "from" in f)
    # Members, cards and the rest came in the June extract: the child's own files.
    assert child.shared_files("members") == []


def test_the_gate_checks_the_new_month_and_compares_it_with_the_parent(may, tmp_path):
    import_source(june_extract(tmp_path / "june"), "2025-06", JUNE, END, extends=may)
    verdict = validate("2025-06", now=NOW)
    assert verdict.success and verdict.document["previous_snapshot"] == may
    june = _test_table("purchases").filter(pl.col("purchased_at") >= JUNE).height
    counts = [
        o.result["observed_value"]
        for o in verdict.outcomes
        if o.expectation["meta"]["table"] == "purchases"
        and o.expectation["type"] == "expect_table_row_count_to_be_between"
    ]
    # The purchases' own rules scanned June's rows, not the history's.
    assert counts == [june]
    reused = [o for o in verdict.outcomes if o.expectation["meta"]["table"] == "reused_ids"]
    assert len(reused) == 1 and reused[0].success is True
    # A snapshot that extends nothing has the rule, not applicable.
    assert [o.success for o in validate(may, now=NOW).outcomes if o.expectation["meta"]["table"] == "reused_ids"] == [
        None
    ]


def test_a_june_purchase_with_a_may_purchases_id_fails(may, tmp_path):
    may_id = _as_of("purchases", _test_table("purchases"), JUNE)["purchase_id"][0]

    def reuse(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(may_id)).otherwise("purchase_id").alias("purchase_id")
        )

    import_source(june_extract(tmp_path / "june", change={"purchases": reuse}), "2025-06", JUNE, END, extends=may)
    failures = validate("2025-06", now=NOW).failures
    assert [o.expectation["meta"]["table"] for o in failures] == ["reused_ids"]
    assert failures[0].result["details"]["unexpected_rows"] == [{"table_name": "purchases", "id": str(may_id)}]


def test_may_events_in_the_june_extract_fail_the_period_rule(may, tmp_path):
    def with_may(frame: pl.DataFrame) -> pl.DataFrame:
        return pl.concat(
            [
                frame,
                frame.head(1).with_columns(purchased_at=pl.datetime(2025, 5, 30, 12), purchase_id=pl.lit(-1, pl.Int64)),
            ]
        )

    import_source(june_extract(tmp_path / "june", change={"purchases": with_may}), "2025-06", JUNE, END, extends=may)
    failed = {
        (o.expectation["meta"]["table"], o.expectation.get("description", ""))
        for o in validate("2025-06", now=NOW).failures
    }
    assert (
        "purchases",
        "every purchases.purchased_at lies inside the snapshot's declared period "
        "(for an extension, inside the days it adds)",
    ) in failed


def test_an_extension_must_follow_its_parent(may, tmp_path):
    with pytest.raises(ContractError, match="starts the day after its period ends"):
        import_source(june_extract(tmp_path / "june"), "2025-06", dt.date(2025, 6, 2), END, extends=may)
    with pytest.raises(ContractError, match="keeps them"):
        import_source(june_extract(tmp_path / "j2"), "2025-06", JUNE, END, extends=may, absent_scenes=("p2p",))


def test_an_extension_of_a_parent_that_has_not_passed_is_refused(isolated_data, tmp_path):
    import_source(may_extract(tmp_path / "may"), "2025-05", START, PARENT_END)
    import_source(june_extract(tmp_path / "june"), "2025-06", JUNE, END, extends="2025-05")
    with pytest.raises(GateError, match="extends '2025-05', which must pass the gate first"):
        validate("2025-06", now=NOW)


def test_tables_left_out_of_the_june_extract_are_the_parents(may, tmp_path):
    source = june_extract(tmp_path / "june", leave_out=("members", "cards", "employers", "districts", "stations"))
    env = {**os.environ, "COLUMNS": "200"}
    args = [sys.executable, "-m", "pipelines", "import", str(source), "-s", "2025-06", "--extends", may]
    done = subprocess.run([*args, "--end", "2025-06-30"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "(left out of the extract): districts, stations, members, employers, cards" in done.stderr
    child = Snapshot.open("2025-06")
    assert [p.name for p in child.shared_files("members")] == [p.name for p in Snapshot.open(may).files("members")]


def test_removing_the_parent_leaves_the_extension_whole(may, tmp_path):
    import_source(june_extract(tmp_path / "june"), "2025-06", JUNE, END, extends=may)
    _passed("2025-06")
    remove_snapshot(may)
    snap = require_passing("2025-06")
    with catalog.connect(snap) as con:
        assert catalog.frame(con, "SELECT count(*) AS n FROM purchases")["n"][0] == _test_table("purchases").height
    # Validated again (say, under new suites), with no parent verdict to stand on, every rule
    # reads the whole history; a snapshot of another line is no parent to compare with.
    import_source(may_extract(tmp_path / "other"), "other-05", START, PARENT_END)
    assert previous_of("2025-06") is None
    verdict = validate("2025-06", now=NOW)
    assert verdict.success and verdict.document["previous_snapshot"] is None
    counts = [
        o.result["observed_value"]
        for o in verdict.outcomes
        if o.expectation["meta"]["table"] == "purchases"
        and o.expectation["type"] == "expect_table_row_count_to_be_between"
    ]
    assert counts == [_test_table("purchases").height]


def test_cli_import_extends_with_the_start_taken_from_the_parent(may, tmp_path):
    env = {**os.environ, "COLUMNS": "200"}
    args = [sys.executable, "-m", "pipelines", "import", str(june_extract(tmp_path / "june"))]
    done = subprocess.run(
        [*args, "-s", "2025-06", "--extends", may, "--end", "2025-06-30"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert Snapshot.open("2025-06").new_start == JUNE
    assert "taken whole from '2025-05' (left out of the extract): none" in done.stderr
    missing = subprocess.run([*args, "-s", "x", "--end", "2025-06-30"], capture_output=True, text=True, env=env)
    assert missing.returncode != 0 and "--start is needed" in missing.stderr


def test_the_gate_hashes_the_new_files_and_still_sees_a_shared_file_changed(may, tmp_path, monkeypatch):
    import pipelines.quality.integrity as integrity

    import_source(june_extract(tmp_path / "june"), "2025-06", JUNE, END, extends=may)
    child = Snapshot.open("2025-06")
    hashed: list[str] = []
    real = integrity.sha256_file

    def counting(path: Path) -> str:
        hashed.append(str(path.relative_to(child.folder)))
        return real(path)

    monkeypatch.setattr(integrity, "sha256_file", counting)
    _passed("2025-06")
    # The files May's gate hashed are trusted by their identity (the same inode, size and time).
    own = sorted(f["path"] for t in child.manifest["tables"].values() for f in t["files"] if "from" not in f)
    assert sorted(hashed) == own
    # One byte of a shared May file changed in place: its time changes, it is hashed again, and
    # the gate refuses the snapshot, whose parent no longer holds either.
    monkeypatch.setattr(integrity, "sha256_file", real)
    shared = child.shared_files("purchases")[0]
    data = bytearray(shared.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shared.write_bytes(bytes(data))
    with pytest.raises(GateError, match=f"which must pass the gate first: .*{shared.parent.name}/{shared.name}"):
        validate("2025-06", now=NOW)


def test_the_snapshot_list_names_the_parent_and_counts_shared_files_apart(may, tmp_path):
    import_source(june_extract(tmp_path / "june"), "2025-06", JUNE, END, extends=may)
    env = {**os.environ, "COLUMNS": "200"}
    listed = subprocess.run([sys.executable, "-m", "pipelines", "snapshots"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if line.startswith("│")]
    row = next(line for line in rows if line.split("│")[1].strip() == "2025-06")
    cells = [c.strip() for c in row.split("│")[1:-1]]
    shared = sum(
        f["bytes"] for t in Snapshot.open("2025-06").manifest["tables"].values() for f in t["files"] if "from" in f
    )
    assert cells[2] == may and f"(+{shared / 1e6:,.1f} shared)" in cells[5]


def test_a_half_loaded_new_month_fails_against_the_parent(may, tmp_path):
    """June's trips from its first half only: each row is valid and the history dilutes the
    gap (the whole half year has 0.9x the parent's trips per day), but June's own trips per
    day are half May's and the rest's, and the drift rule sees it."""

    def first_half(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.col("tap_in_at") < dt.datetime(2025, 6, 16))

    import_source(june_extract(tmp_path / "june", change={"trips": first_half}), "2025-06", JUNE, END, extends=may)
    verdict = validate("2025-06", now=NOW)
    drift = [o for o in verdict.failures if o.expectation["meta"]["table"] == "volume_change"]
    assert len(drift) == 1 and drift[0].result["partial_unexpected_list"] == [{"table_name": "trips"}]
    seen = {r["table_name"]: r for r in verdict.document["observed"]["volume_change"]}
    assert seen["trips"]["rows_per_day_ratio"] == pytest.approx(0.5, abs=0.1)
    assert seen["purchases"]["rows_per_day_ratio"] == pytest.approx(1.0, abs=0.2)


def test_a_june_extract_with_junes_campaigns_alone_fails(may, tmp_path):
    """Campaign tables are whole: an extract of the month's campaigns alone would drop the
    earlier ones from the snapshot, and the rule names them."""
    june_campaigns = _test_table("campaigns").filter(pl.col("start_date") >= JUNE)["campaign_id"]

    def junes(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.col("campaign_id").is_in(june_campaigns.implode()))

    change = {name: junes for name in ("campaigns", "campaign_assignments", "redemptions")}
    import_source(june_extract(tmp_path / "june", change=change), "2025-06", JUNE, END, extends=may)
    failures = validate("2025-06", now=NOW).failures
    dropped = [o for o in failures if o.expectation["meta"]["table"] == "dropped_campaigns"]
    earlier = sorted(_as_of("campaigns", _test_table("campaigns"), JUNE)["campaign_id"])
    assert len(dropped) == 1 and dropped[0].result["observed_value"] == len(earlier) > 0
    assert [r["campaign_id"] for r in dropped[0].result["details"]["unexpected_rows"]] == earlier[:5]


def test_an_operator_without_bill_payments_extends_month_by_month(isolated_data, tmp_path):
    """A scene the operator does not run has no new days: the extension imports, passes and is
    compared with its parent, even when another snapshot's period ends as late."""
    no_bills = ("bill_payments",)
    parent = import_source(
        extract_as_of(tmp_path / "may", None, JUNE, leave_out=no_bills),
        "2025-05",
        START,
        PARENT_END,
        absent_scenes=("bills",),
    )["snapshot"]
    _passed(parent)
    import_source(may_extract(tmp_path / "other"), "other-may", START, PARENT_END)
    june = import_source(
        june_extract(tmp_path / "june", leave_out=no_bills),
        "2025-06",
        JUNE,
        END,
        absent_scenes=("bills",),
        extends=parent,
    )["snapshot"]
    verdict = validate(june, previous=previous_of(june), now=NOW)
    assert verdict.success, [o.expectation.get("description") for o in verdict.failures]
    assert verdict.document["previous_snapshot"] == parent
    assert Snapshot.open(june).own_files("bill_payments") == []


def _whole(tmp_path: Path) -> dict:
    """The verdict of the same six months imported whole, as a second way to the figures."""
    import_source(extract_as_of(tmp_path / "whole", None, JULY), "whole", START, END)
    return validate("whole", now=NOW).document


def test_the_volumes_and_profile_an_extension_carries_equal_those_of_the_whole_period(may, tmp_path):
    """The extension reads its parent's per-month volumes and profile from the parent's verdict
    and scans June alone: together they are what a scan of all six months gives."""
    import_source(june_extract(tmp_path / "june"), "2025-06", JUNE, END, extends=may)
    june = validate("2025-06", now=NOW).document
    whole = _whole(tmp_path)
    assert june["observed"]["volume_by_month"] == whole["observed"]["volume_by_month"]
    for name in ("volume", "monthly_volume"):
        assert june["observed"][name] == whole["observed"][name], name
    assert june["profile"] == whole["profile"]
    # And by hand: June's purchases and their payers, from the test snapshot's rows.
    purchases = _test_table("purchases").filter(pl.col("purchased_at") >= JUNE)
    row = next(
        r
        for r in june["observed"]["volume_by_month"]
        if r["table_name"] == "purchases" and str(r["month"]) == "2025-06-01"
    )
    payers = purchases.select(pl.coalesce("card_id", "account_id").n_unique()).item()
    assert (row["rows"], row["payers"]) == (purchases.height, payers)


def test_the_balance_of_new_campaigns_and_of_changed_ones_is_checked_again(may, tmp_path):
    """Campaigns the parent's gate checked are not read again, unless the June extract changed
    them: an earlier campaign redrawn with every member held out fails its balance rule."""
    earlier = _as_of("campaigns", _test_table("campaigns"), JUNE)["campaign_id"].sort()
    new = _test_table("campaigns").filter(pl.col("start_date") >= JUNE)["campaign_id"].sort()
    assert len(earlier) and len(new)
    import_source(june_extract(tmp_path / "june"), "2025-06", JUNE, END, extends=may)
    seen = validate("2025-06", now=NOW).document["observed"]["campaign_balance"]
    assert sorted(r["campaign_id"] for r in seen) == new.to_list()
    whole = {r["campaign_id"]: r for r in _whole(tmp_path)["observed"]["campaign_balance"]}
    # The same figures; sums over threads add in another order, so floats within 1e-12.
    for got, c in zip(seen, new, strict=True):
        want = whole[c]
        assert got.keys() == want.keys()
        assert all(got[k] == pytest.approx(want[k], rel=1e-12) for k in want if k != "campaign_id"), c

    redrawn = earlier[0]

    def hold_out(frame: pl.DataFrame) -> pl.DataFrame:
        mine = pl.col("campaign_id") == redrawn
        return frame.with_columns(pl.when(mine).then(pl.lit("holdout")).otherwise("arm").alias("arm"))

    import_source(
        june_extract(tmp_path / "june-redrawn", change={"campaign_assignments": hold_out}),
        "2025-06-redrawn",
        JUNE,
        END,
        extends=may,
    )
    verdict = validate("2025-06-redrawn", now=NOW)
    balance = {r["campaign_id"]: r for r in verdict.document["observed"]["campaign_balance"]}
    assert set(balance) == {redrawn, *new}
    assert balance[redrawn]["holdout_share"] == 1.0
    assert any(o.expectation["meta"]["table"] == "campaign_balance" for o in verdict.failures)
