"""Immutable snapshots: written to a hidden folder, published by one rename, never overwritten.

Layout of data/snapshots/<ID>/:
    manifest.json          tables, row counts, schema, per-file sha256, how it was made
    <table>/part-*.parquet one Parquet dataset per table (zstd)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.paths import check_name, ground_truth_dir, snapshot_path, snapshots_dir
from pipelines.schema import TABLES, table

MANIFEST = "manifest.json"
_INCOMPLETE = ".incomplete-"


class SnapshotError(RuntimeError):
    """A snapshot that cannot be written or read as asked."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def conform(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with exactly the schema's columns, in order, cast to the schema's types."""
    spec = table(name)
    missing = [c for c in spec.column_names if c not in frame.columns]
    if missing:
        raise SnapshotError(f"{name}: missing column(s) {', '.join(missing)}")
    return frame.select(spec.column_names).cast(dict(spec.polars_schema), strict=True)


def write_part(folder: Path, name: str, frame: pl.DataFrame, part: str) -> dict[str, Any]:
    """Write one Parquet part of table `name` under `folder`; returns its manifest entry."""
    frame = conform(name, frame)
    (folder / name).mkdir(parents=True, exist_ok=True)
    path = folder / name / f"part-{part}.parquet"
    frame.write_parquet(path, compression="zstd", statistics=True)
    return {
        "path": f"{name}/{path.name}",
        "rows": frame.height,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


@dataclass
class SnapshotWriter:
    """Collects Parquet parts in a hidden folder; `publish` renames it into place."""

    snapshot: str
    tmp: Path
    truth_tmp: Path
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def write(self, name: str, frame: pl.DataFrame, part: str = "0000") -> None:
        self.record(name, write_part(self.tmp, name, frame, part))

    def record(self, name: str, part: dict[str, Any]) -> None:
        """Register a part file that `write_part` wrote into this snapshot's folder."""
        self.files.setdefault(name, []).append(part)

    def write_ground_truth(self, name: str, frame: pl.DataFrame) -> None:
        self.truth_tmp.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(self.truth_tmp / f"{name}.parquet", compression="zstd")

    def manifest(self, made_by: dict[str, Any], period: tuple[str, str]) -> dict[str, Any]:
        tables = {}
        for spec in TABLES:
            parts = self.files.get(spec.name)
            if not parts:
                raise SnapshotError(f"table {spec.name} was never written")
            tables[spec.name] = {
                "rows": sum(p["rows"] for p in parts),
                "schema": {c.name: c.duckdb_type for c in spec.columns},
                "files": sorted(parts, key=lambda p: p["path"]),
            }
        return {
            "snapshot": self.snapshot,
            "synthetic": bool(made_by.get("synthetic", False)),
            "period": {"start": period[0], "end": period[1]},
            "timezone": "Asia/Taipei (local wall-clock time, stored without zone)",
            "made_by": made_by,
            "tables": tables,
        }


def _clear_stale(parent: Path, snapshot: str) -> None:
    """Remove hidden folders that crashed writers of this ID left behind."""
    for old in parent.glob(f"{_INCOMPLETE}{snapshot}-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if not (pid.isdigit() and _alive(int(pid))):
            shutil.rmtree(old, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


@contextmanager
def new_snapshot(snapshot: str, made_by: dict[str, Any], period: tuple[str, str]) -> Iterator[SnapshotWriter]:
    """Write a snapshot atomically: all of it appears under its ID, or nothing does."""
    check_name(snapshot)
    final = snapshot_path(snapshot)
    if final.exists():
        raise SnapshotError(f"snapshot {snapshot!r} already exists at {final}; snapshots are immutable, pick a new ID")
    root, truth_root = snapshots_dir(), ground_truth_dir()
    root.mkdir(parents=True, exist_ok=True)
    truth_root.mkdir(parents=True, exist_ok=True)
    _clear_stale(root, snapshot)
    _clear_stale(truth_root, snapshot)
    tag = f"{_INCOMPLETE}{snapshot}-{os.getpid()}"
    writer = SnapshotWriter(snapshot, root / tag, truth_root / tag)
    writer.tmp.mkdir()
    try:
        yield writer
        manifest = writer.manifest(made_by, period)
        (writer.tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        truth_final = truth_root / snapshot
        if writer.truth_tmp.exists():
            shutil.rmtree(truth_final, ignore_errors=True)
            writer.truth_tmp.rename(truth_final)
        writer.tmp.rename(final)
    finally:
        shutil.rmtree(writer.tmp, ignore_errors=True)
        shutil.rmtree(writer.truth_tmp, ignore_errors=True)


def read_manifest(snapshot: str) -> dict[str, Any]:
    path = snapshot_path(snapshot) / MANIFEST
    if not path.exists():
        known = ", ".join(list_snapshots()) or "none yet (run `make data`)"
        raise SnapshotError(f"unknown snapshot {snapshot!r}; snapshots here: {known}")
    return json.loads(path.read_text())


def list_snapshots() -> list[str]:
    """Published snapshot IDs, oldest first (by manifest time), then by name."""
    root = snapshots_dir()
    if not root.exists():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).exists()]
    return [p.name for p in sorted(found, key=lambda p: ((p / MANIFEST).stat().st_mtime, p.name))]


def latest_snapshot() -> str:
    found = list_snapshots()
    if not found:
        raise SnapshotError("no snapshot yet: run `make data` or `python -m pipelines generate`")
    return found[-1]


def table_glob(snapshot: str, name: str) -> str:
    return str(snapshot_path(snapshot) / name / "*.parquet")
