"""Immutable snapshots: written to a hidden folder, published by one rename, never overwritten.

Layout of data/snapshots/<ID>/:
    manifest.json          tables, row counts, schema, per-file sha256, how it was made
    <table>/part-*.parquet one Parquet dataset per table (zstd)

A snapshot may extend an earlier one (its parent) by a new month: the parent's event files are
shared by hard links, not copied, and the manifest lists them with the snapshot that first
wrote them (`from`). Files are never written again once published, so a shared file is the
same bytes in both snapshots, and removing either leaves the other whole.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
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

from pipelines.core.paths import check_name, ground_truth_dir, snapshot_path, snapshots_dir
from pipelines.core.period import month_ends_between, period_months
from pipelines.core.schema import SCENE_TABLES, SCENES, TABLES, table
from pipelines.core.stale import clear_stale

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

    def share(self, name: str, parent: Snapshot) -> None:
        """Take every file of the parent's table `name` into this snapshot by a hard link."""
        for entry in parent.manifest["tables"][name]["files"]:
            target = self.tmp / entry["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(parent.folder / entry["path"], target)
            except OSError as exc:
                raise SnapshotError(
                    f"cannot share {entry['path']} of snapshot {parent.id!r} by a hard link ({exc}): "
                    "the data folder must be on a file system that has them"
                ) from None
            self.record(name, {**entry, "from": entry.get("from", parent.id)})

    def write_ground_truth(self, name: str, frame: pl.DataFrame, part: str | None = None) -> None:
        """What the generator planted, as `<name>.parquet`, or with `part` as one of several
        `<name>/part-<part>.parquet` files, so a large truth is written a block at a time."""
        target = self.truth_tmp / f"{name}.parquet" if part is None else self.truth_tmp / name / f"part-{part}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(target, compression="zstd")

    def manifest(
        self,
        made_by: dict[str, Any],
        period: tuple[str, str],
        scenes: tuple[str, ...] | list[str] = SCENES,
        extends: Snapshot | None = None,
    ) -> dict[str, Any]:
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
        lineage = {}
        if extends is not None:
            lineage["extends"] = {
                "snapshot": extends.id,
                "manifest_sha256": extends.manifest_sha256,
                "new_start": (extends.end + dt.timedelta(days=1)).isoformat(),
            }
        return {
            "snapshot": self.snapshot,
            "synthetic": bool(made_by.get("synthetic", False)),
            "period": {"start": period[0], "end": period[1]},
            "scenes": list(scenes),
            "timezone": "Asia/Taipei (local wall-clock time, stored without zone)",
            "made_by": made_by,
            **lineage,
            "tables": tables,
        }


@contextmanager
def new_snapshot(
    snapshot: str,
    made_by: dict[str, Any],
    period: tuple[str, str],
    scenes: tuple[str, ...] | list[str] = SCENES,
    extends: Snapshot | None = None,
) -> Iterator[SnapshotWriter]:
    """Write a snapshot atomically: all of it appears under its ID, or nothing does."""
    check_name(snapshot)
    final = snapshot_path(snapshot)
    if final.exists():
        raise SnapshotError(f"snapshot {snapshot!r} already exists at {final}; snapshots are immutable, pick a new ID")
    root, truth_root = snapshots_dir(), ground_truth_dir()
    root.mkdir(parents=True, exist_ok=True)
    truth_root.mkdir(parents=True, exist_ok=True)
    clear_stale(root, f"{_INCOMPLETE}{snapshot}-")
    clear_stale(truth_root, f"{_INCOMPLETE}{snapshot}-")
    tag = f"{_INCOMPLETE}{snapshot}-{os.getpid()}"
    writer = SnapshotWriter(snapshot, root / tag, truth_root / tag)
    writer.tmp.mkdir()
    try:
        yield writer
        manifest = writer.manifest(made_by, period, scenes, extends)
        (writer.tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        truth_final = truth_root / snapshot
        if writer.truth_tmp.exists():
            shutil.rmtree(truth_final, ignore_errors=True)
            writer.truth_tmp.rename(truth_final)
        writer.tmp.rename(final)
    finally:
        shutil.rmtree(writer.tmp, ignore_errors=True)
        shutil.rmtree(writer.truth_tmp, ignore_errors=True)


@dataclass(frozen=True)
class Snapshot:
    """One snapshot as a run sees it: its manifest read once (and, once the gate's verdict is
    attached, the verdict), then passed down to every step instead of being read again."""

    id: str
    manifest: dict[str, Any]
    manifest_sha256: str
    verdict: dict[str, Any] | None = None

    @classmethod
    def open(cls, snapshot: str | None = None) -> Snapshot:
        """The snapshot `snapshot` (default: the newest); a clear error if there is none."""
        snapshot = check_name(snapshot) if snapshot else latest_snapshot()
        path = snapshot_path(snapshot) / MANIFEST
        if not path.exists():
            known = ", ".join(list_snapshots()) or "none yet (run `make data`)"
            raise SnapshotError(f"unknown snapshot {snapshot!r}; snapshots here: {known}")
        data = path.read_bytes()
        return cls(snapshot, json.loads(data), hashlib.sha256(data).hexdigest())

    def with_verdict(self, verdict: dict[str, Any]) -> Snapshot:
        return dataclasses.replace(self, verdict=verdict)

    def with_period(self, start: dt.date, end: dt.date) -> Snapshot:
        """The same snapshot read as if its declared period were another (for tests of cut-short periods)."""
        period = {"start": start.isoformat(), "end": end.isoformat()}
        return dataclasses.replace(self, manifest={**self.manifest, "period": period})

    @property
    def folder(self) -> Path:
        return snapshot_path(self.id)

    @property
    def start(self) -> dt.date:
        return dt.date.fromisoformat(self.manifest["period"]["start"])

    @property
    def end(self) -> dt.date:
        return dt.date.fromisoformat(self.manifest["period"]["end"])

    @property
    def synthetic(self) -> bool:
        return bool(self.manifest["synthetic"])

    @property
    def scenes(self) -> tuple[str, ...]:
        """The scenes the operator runs; an absent scene's table is empty."""
        return tuple(self.manifest.get("scenes", SCENES))

    @property
    def absent_tables(self) -> tuple[str, ...]:
        return tuple(t for scene, t in SCENE_TABLES.items() if scene not in self.scenes)

    def files(self, name: str) -> list[Path]:
        """The Parquet files of table `name` that the manifest lists: the only ones any reader
        reads, so that a stray file dropped into the folder is never taken for data."""
        return [Path(p) for p in self.file_paths(name)]

    def file_paths(self, name: str, shared: bool | None = None) -> list[str]:
        """`files` as strings, for SQL: at the operator's size (7,208 files) making a Path of
        each costs a report 0.13 s, and resolving the folder for each cost seconds. `shared`:
        only the files shared from earlier snapshots (True), or only this one's own (False)."""
        folder = str(self.folder)
        return [
            f"{folder}/{f['path']}"
            for f in self.manifest["tables"][name]["files"]
            if shared is None or ("from" in f) == shared
        ]

    @property
    def extends(self) -> str | None:
        """The snapshot this one extends by a new month, if any."""
        return (self.manifest.get("extends") or {}).get("snapshot")

    @property
    def new_start(self) -> dt.date:
        """The first day of the events this snapshot brought itself: the day after its
        parent's period, or its own start."""
        extends = self.manifest.get("extends")
        return dt.date.fromisoformat(extends["new_start"]) if extends else self.start

    def own_files(self, name: str) -> list[Path]:
        """The files of table `name` this snapshot wrote, not shared from an earlier one."""
        return [Path(p) for p in self.file_paths(name, shared=False)]

    def shared_files(self, name: str) -> list[Path]:
        """The files of table `name` shared from earlier snapshots."""
        return [Path(p) for p in self.file_paths(name, shared=True)]

    @property
    def label(self) -> str:
        return "SYNTHETIC data" if self.synthetic else "imported data"

    def months(self) -> pl.DataFrame:
        """One row per month the period overlaps: its first day, and whether it is covered in full."""
        return period_months(self.start, self.end)

    def whole_months(self) -> list[str]:
        """The months (YYYY-MM) the period covers in full, or all its months if none is whole:
        what reports default to, so that a month cut short does not read as a drop."""
        months = self.months()
        whole = months.filter(pl.col("complete"))["month"]
        return [f"{m:%Y-%m}" for m in (whole if whole.len() else months["month"])]

    def month_ends(self) -> list[dt.date]:
        """The calendar month ends inside the period: RFM is scored there."""
        return month_ends_between(self.start, self.end)


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


def remove_snapshot(snapshot: str) -> Path:
    """Delete a snapshot folder and what was planted for it; returns the folder removed."""
    folder = snapshot_path(snapshot)
    if not (folder / MANIFEST).exists():
        known = ", ".join(list_snapshots()) or "none"
        raise SnapshotError(f"unknown snapshot {snapshot!r}; snapshots here: {known}")
    # Renamed first, so that no reader ever sees a half-deleted snapshot under its ID.
    doomed = folder.with_name(f"{_INCOMPLETE}{snapshot}-{os.getpid()}")
    folder.rename(doomed)
    shutil.rmtree(doomed, ignore_errors=True)
    shutil.rmtree(ground_truth_dir() / snapshot, ignore_errors=True)
    return folder
