"""Snapshots: deterministic, immutable, atomic, and safe with the IDs they are given."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pipelines.core.paths import BadNameError, check_name, snapshots_dir
from pipelines.core.snapshot import Snapshot, SnapshotError, list_snapshots
from pipelines.ingest.generator import generate
from pipelines.ingest.generator.params import GeneratorParams


def _hashes(manifest: dict) -> dict[str, str]:
    return {f["path"]: f["sha256"] for t in manifest["tables"].values() for f in t["files"]}


def test_same_seed_and_scale_give_identical_tables(isolated_data):
    a = generate("a", scale=0.05, seed=3, jobs=2)
    b = generate("b", scale=0.05, seed=3, jobs=1)  # the worker count must not matter
    c = generate("c", scale=0.05, seed=4)
    assert _hashes(a) == _hashes(b)
    assert _hashes(a) != _hashes(c)


def test_large_scales_are_generated_in_blocks(isolated_data):
    from pipelines.core import catalog

    params = GeneratorParams(block_members=200, months=2)
    m = generate("blocks", scale=0.05, seed=3, params=params)  # 500 members: three blocks
    paths = [f["path"] for f in m["tables"]["trips"]["files"]]
    assert paths == [f"trips/part-2025-0{mo}-b00{b}.parquet" for mo in (1, 2) for b in range(3)]
    snap = Snapshot.open("blocks")
    assert snap.file_paths("trips") == [str(path) for path in snap.files("trips")] != []
    with catalog.connect("blocks") as c:
        n, distinct, blocks_with_buyers = c.execute(
            """SELECT count(*), count(DISTINCT trip_id),
                      (SELECT count(DISTINCT (CAST(substr(m.member_id, 2) AS INTEGER) - 1) // 200)
                       FROM purchases p LEFT JOIN cards k USING (card_id)
                       JOIN members m ON m.member_id = k.member_id OR m.account_id = p.account_id)
               FROM trips"""
        ).fetchone()
    assert n == distinct == m["tables"]["trips"]["rows"]
    assert blocks_with_buyers == 3  # buyers come from every block of 200 members


def test_row_counts_grow_linearly_with_scale(isolated_data):
    small = generate("small", scale=0.1, seed=1)["tables"]
    big = generate("big", scale=0.3, seed=1)["tables"]
    for name in ("members", "cards", "merchants", "trips", "purchases", "bill_payments", "transfers"):
        ratio = big[name]["rows"] / small[name]["rows"]
        assert 2.6 < ratio < 3.4, (name, ratio)


def test_manifest_records_how_it_was_made(manifest):
    assert manifest["synthetic"] is True
    assert manifest["made_by"]["seed"] == 7 and manifest["made_by"]["scale"] == 0.1
    assert manifest["period"] == {"start": "2025-01-01", "end": "2025-06-30"}
    trips = manifest["tables"]["trips"]
    assert len(trips["files"]) == 6  # one Parquet file per month
    assert trips["rows"] == sum(f["rows"] for f in trips["files"])
    assert trips["schema"]["tap_in_at"] == "TIMESTAMP"
    assert all(len(f["sha256"]) == 64 for f in trips["files"])


def test_refuses_to_overwrite(isolated_data):
    generate("once", scale=0.05, seed=1)
    before = Snapshot.open("once").manifest
    with pytest.raises(SnapshotError, match="already exists"):
        generate("once", scale=0.05, seed=2)
    assert Snapshot.open("once").manifest == before


def test_a_crash_half_way_leaves_nothing(isolated_data):
    def crash(what: str, rows: int) -> None:
        if what.startswith("2025-03"):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        generate("crashed", scale=0.05, seed=1, progress=crash)
    assert list_snapshots() == []
    assert list(snapshots_dir().iterdir()) == []


def test_sigterm_half_way_leaves_nothing(isolated_data):
    # Scale 20 takes several seconds to generate, so the signal lands half-way on a fast machine too.
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "generate", "--snapshot", "killed", "--scale", "20"],
        env={**os.environ, "CARD_INSIGHTS_DATA": str(isolated_data)},
        stderr=subprocess.PIPE,
        text=True,
    )
    incomplete = snapshots_dir()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (incomplete.exists() and any(incomplete.iterdir())):
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "nothing was published" in err
    assert list(snapshots_dir().iterdir()) == []


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", ".hidden", "x" * 65, "a..b", "snap shot", "-rf"])
def test_snapshot_ids_are_validated(bad):
    with pytest.raises(BadNameError):
        check_name(bad)


def test_unknown_snapshot_is_a_clear_error(isolated_data):
    with pytest.raises(SnapshotError, match="unknown snapshot 'nope'"):
        Snapshot.open("nope")
