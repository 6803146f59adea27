"""Marts: the heavy aggregates, computed once per snapshot for all members, merchants and
employers, as Parquet, by every registered family in turn (pipelines/families.py).

data/marts/<snapshot>/ holds one Parquet file per mart and marts.json (what made them: the
snapshot manifest's hash and the freshness hash of everything that can change a mart).
Building refuses a snapshot that has not passed the gate, writes into a hidden folder and
swaps it in, and is skipped when nothing it depends on changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.core import catalog
from pipelines.core.engine import ENGINES, DuckDBEngine, Engine
from pipelines.core.family import MartWriter
from pipelines.core.freshness import inputs_hash
from pipelines.core.paths import LOCK_FILE, REFERENCE_DIR, check_name, data_dir
from pipelines.core.snapshot import Snapshot, list_snapshots
from pipelines.core.stale import clear_stale
from pipelines.families import FAMILIES, in_build_order
from pipelines.quality.gate import require_passing

MARTS_FILE = "marts.json"
CORE_DIR = Path(catalog.__file__).parent


def marts_dir(snapshot: Snapshot | str) -> Path:
    return data_dir() / "marts" / check_name(snapshot.id if isinstance(snapshot, Snapshot) else snapshot)


def mart_inputs() -> list[Path]:
    """Everything that can change a mart's figures: the core package, this orchestration and
    the registry, the disclosure module the families load, the Spark engine and its
    transpiler, every family's package (Python, SQL, configuration), the reference data and the
    lock (library versions)."""
    own = [Path(__file__).with_name(name) for name in ("__init__.py", "marts.py", "families.py", "privacy", "spark")]
    return [CORE_DIR, *own, *(f.package for f in FAMILIES), REFERENCE_DIR, LOCK_FILE]


def code_hash() -> str:
    return inputs_hash(mart_inputs())


def _stamp(snap: Snapshot) -> dict[str, str]:
    return {"snapshot_manifest_sha256": snap.manifest_sha256, "code_sha256": code_hash()}


def is_current(snap: Snapshot) -> bool:
    path = marts_dir(snap) / MARTS_FILE
    if not path.exists():
        return False
    stored = json.loads(path.read_text())
    return all(stored.get(k) == v for k, v in _stamp(snap).items())


def _reusable(snap: Snapshot) -> tuple[Path, dt.date] | None:
    """For a snapshot that extends another whose marts are current (same code, same
    manifest): that marts folder, and the first month the new days touch, from which the
    marts are computed again; None otherwise (the marts are built from the whole history)."""
    if snap.extends is None or snap.extends not in list_snapshots():
        return None
    parent = Snapshot.open(snap.extends)
    if not is_current(parent):
        return None
    return marts_dir(parent), dt.date(snap.new_start.year, snap.new_start.month, 1)


def connect(snapshot: Snapshot | str | None = None) -> duckdb.DuckDBPyConnection:
    """The snapshot's catalog, every family's views (member_events) and a view per built mart
    (build them first with `build`)."""
    snap = snapshot if isinstance(snapshot, Snapshot) else Snapshot.open(snapshot)
    con = catalog.connect(snap)
    _family_views(DuckDBEngine(con))
    for path in sorted(marts_dir(snap).glob("*.parquet")):
        source = catalog.sql_literal(catalog.parquet_path(path))
        con.execute(f'CREATE VIEW "{path.stem}" AS SELECT * FROM read_parquet({source})')
    return con


def read_folder(folder: Path) -> dict[str, pl.DataFrame]:
    """Every mart of a marts folder as a frame, whichever engine wrote it (a file, or a folder
    of month or part files)."""
    return {p.stem: pl.read_parquet(catalog.parquet_path(p)) for p in sorted(folder.glob("*.parquet"))}


def check_same(got: dict[str, pl.DataFrame], expected: dict[str, pl.DataFrame]) -> None:
    """Raise AssertionError, naming the mart, unless both hold the same marts with the same
    columns, types and rows. Marts are not sorted, so rows are compared in one order; floats
    within 1e-9 relative, as sums over threads or Spark's tasks add in another order."""
    # Imported here: polars.testing is for this comparison alone, never for building marts.
    from polars.testing import assert_frame_equal

    if sorted(got) != sorted(expected):
        raise AssertionError(f"marts differ: {sorted(got)} against {sorted(expected)}")
    for name, frame in expected.items():
        if got[name].schema != frame.schema:
            raise AssertionError(f"{name}: columns {got[name].schema} against {frame.schema}")
        order = [c for c, t in frame.schema.items() if not t.is_float()]
        try:
            assert_frame_equal(got[name].sort(order), frame.sort(order), check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


@contextlib.contextmanager
def _open_engine(name: str, snap: Snapshot) -> Iterator[Engine]:
    """The engine the marts' SQL runs on (ENGINES), over the snapshot's tables and with every
    family's views."""
    if name == "spark":
        from pipelines.spark.engine import SparkEngine
        from pipelines.spark.session import session

        engine: Engine = SparkEngine(session(), snap)
        _family_views(engine)
        yield engine
        return
    with catalog.connect(snap) as con:
        engine = DuckDBEngine(con)
        _family_views(engine)
        yield engine


def _family_views(engine: Engine) -> None:
    for family in FAMILIES:
        for name, query in family.views.items():
            engine.view(name, query)


def build(
    snapshot: Snapshot | str,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    engine: str | None = None,
) -> dict[str, Any]:
    """Build every family's marts of a validated snapshot on `engine` (ENGINES: the same SQL,
    the same figures; None: the engine that made the marts there are, else DuckDB); returns
    marts.json's content. A snapshot that extends another whose marts are current reuses their
    months before the new days (for the marts that have a month column and say so); `force`
    builds from scratch. Marts that are current are kept, whichever engine made them, unless
    `engine` names another."""
    if engine not in (None, *ENGINES):
        raise ValueError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")
    snap = snapshot if isinstance(snapshot, Snapshot) and snapshot.verdict else require_passing(snapshot)
    final = marts_dir(snap)
    made = json.loads((final / MARTS_FILE).read_text()) if (final / MARTS_FILE).exists() else {}
    if not force and is_current(snap) and engine in (None, made.get("engine", "duckdb")):
        return made
    # A scheduled run that finds the marts stale rebuilds them where they were built.
    engine = engine or made.get("engine", "duckdb")
    final.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(final.parent, f".incomplete-{snap.id}-", f".old-{snap.id}-")
    tmp = final.with_name(f".incomplete-{snap.id}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        reuse = None if force else _reusable(snap)
        with _open_engine(engine, snap) as runner:
            previous, since = reuse or (None, None)
            out = MartWriter(runner, snap, tmp, tmp / ".scratch", progress, previous=previous, since=since)
            for family in in_build_order():
                family.build(out)
        shutil.rmtree(tmp / ".scratch", ignore_errors=True)
        stamp = _stamp(snap) | {"engine": engine, "marts": out.built}
        if reuse:
            stamp["extended"] = {"from": snap.extends, "since": str(since), "rows_reused": out.reused}
        (tmp / MARTS_FILE).write_text(json.dumps(stamp, indent=2) + "\n")
        old = final.with_name(f".old-{snap.id}-{os.getpid()}")
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        return stamp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
