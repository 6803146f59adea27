"""Marts: heavy aggregates computed once per snapshot, for all members, as Parquet.

data/marts/<snapshot>/ holds one Parquet file per mart and marts.json (what made them: the
snapshot manifest's hash, the SQL and configuration hash). Building refuses a snapshot that
has not passed the gate, writes into a hidden folder and swaps it in, and is skipped when
nothing it depends on changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from pipelines import catalog, commutes, sql
from pipelines.paths import check_name, data_dir
from pipelines.quality.gate import require_passing
from pipelines.snapshot import MANIFEST, sha256_file, snapshot_path

CONFIG_DIR = Path(__file__).parent / "config"
SQL_DIR = Path(sql.__file__).parent
MARTS_FILE = "marts.json"


def marts_dir(snapshot: str) -> Path:
    return data_dir() / "marts" / check_name(snapshot)


def code_hash() -> str:
    """Changes whenever any SQL or configuration file, or the commute rule, changes."""
    h = hashlib.sha256()
    config = (f for f in CONFIG_DIR.glob("*") if f.is_file())
    for p in sorted([*SQL_DIR.glob("*.sql"), *config, Path(commutes.__file__)]):
        h.update(p.name.encode() + b"\n" + p.read_bytes())
    return h.hexdigest()


def _stamp(snapshot: str) -> dict[str, str]:
    return {"snapshot_manifest_sha256": sha256_file(snapshot_path(snapshot) / MANIFEST), "code_sha256": code_hash()}


def is_current(snapshot: str) -> bool:
    path = marts_dir(snapshot) / MARTS_FILE
    return path.exists() and {k: v for k, v in json.loads(path.read_text()).items() if k != "marts"} == _stamp(snapshot)


def connect(snapshot: str) -> duckdb.DuckDBPyConnection:
    """The snapshot's catalog plus a view per built mart (build them first with `build`)."""
    con = catalog.connect(snapshot)
    for path in sorted(marts_dir(snapshot).glob("*.parquet")):
        con.execute(f'CREATE VIEW "{path.stem}" AS SELECT * FROM read_parquet({catalog.sql_literal(str(path))})')
    return con


# A step: (mart name, SQL file, bound parameters, kept). Intermediates (kept False) are never
# published: merchant_paid and merchant_visits hold the customers of each merchant, which no
# mart may.
Step = tuple[str, str, dict[str, Any], bool]


def define_member_scene_months(con: duckdb.DuckDBPyConnection, period_start: str, period_end: str) -> None:
    """Make the view member_scene_months, which mart_member_month reads: one GROUP BY member
    per scene and month of the period instead of one GROUP BY member, month and scene over
    every event. Measured in `make bench`, this takes about a third off the mart's time: the
    hash table stays at one row per member and the filters skip row groups. That needs event
    tables stored by time (the generator writes a month per file, the importer sorts); on
    unordered files each month would read every row group (3x slower than one pass over six
    months, measured). The gate has checked that every event lies inside the period, so no
    event falls outside these months."""
    from pipelines.period import month_starts
    from pipelines.segments import SCENES

    con.execute(sql.load("member_scene_month"))
    months = month_starts(dt.date.fromisoformat(period_start), dt.date.fromisoformat(period_end))
    parts = [f"SELECT * FROM member_scene_month(DATE '{m}', '{scene}')" for m in months for scene in SCENES]
    con.execute(f"CREATE OR REPLACE TEMP VIEW member_scene_months AS {' UNION ALL '.join(parts)}")


def prepare_segments(con: duckdb.DuckDBPyConnection, snapshot: str) -> dict[str, Any]:
    """Register the RFM configuration and member_scene_months on `con` for the segment steps;
    returns their SQL parameters."""
    from pipelines.segments import load_config, register_config

    config = load_config()
    register_config(con, config)
    params = config.sql_params(snapshot)
    define_member_scene_months(con, params["period_start"], params["period_end"])
    return params


def segment_steps(params: dict[str, Any]) -> list[Step]:
    return [
        ("member_month", "mart_member_month", {}, True),
        ("rfm", "rfm", params, True),
        ("migration", "migration", {}, True),
    ]


def merchant_steps(period_start: str) -> list[Step]:
    """Reads the rfm mart."""
    return [
        ("merchant_units", "merchant_units", {}, False),
        ("merchant_customers", "merchant_customers", {}, False),
        ("merchant_paid", "merchant_paid", {}, False),
        ("merchant_visits", "merchant_visits", {}, False),
        ("merchant_month", "merchant_month", {}, True),
        ("merchant_customer_cells", "merchant_customer_cells", {"period_start": period_start}, False),
        ("merchant_hour_cells", "merchant_hour_cells", {}, False),
        ("merchant_cross_cells", "merchant_cross_cells", {}, False),
        ("merchant_cells", "merchant_cells", {}, True),
    ]


def write_steps(
    con: duckdb.DuckDBPyConnection,
    steps: list[Step],
    folder: Path,
    scratch: Path,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write each step's Parquet (intermediates into `scratch`) and make it a view that the
    later steps read; returns the rows of each kept mart."""
    scratch.mkdir(parents=True, exist_ok=True)
    built: dict[str, int] = {}
    for name, query, args, kept in steps:
        if progress:
            progress(name)
        target = (folder if kept else scratch) / f"{name}.parquet"
        rows = catalog.write_parquet(con, sql.load(query), target, args)
        if kept:
            built[name] = rows
        source = catalog.sql_literal(str(target))
        con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM read_parquet({source})')
    return built


def build(snapshot: str, force: bool = False, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build every mart of a validated snapshot (member_month, rfm, migration, merchant_month,
    merchant_cells, commute_days, commute_pkm)."""
    require_passing(snapshot)
    final = marts_dir(snapshot)
    if not force and is_current(snapshot):
        return json.loads((final / MARTS_FILE).read_text())
    tmp = final.with_name(f".incomplete-{snapshot}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        con = catalog.connect(snapshot)
        params = prepare_segments(con, snapshot)
        scratch = tmp / ".scratch"
        built = write_steps(con, segment_steps(params) + merchant_steps(params["period_start"]), tmp, scratch, progress)
        if progress:
            progress("commute_days, commute_pkm")
        for name, frame in commutes.commute_marts(con).items():
            frame.write_parquet(tmp / f"{name}.parquet", compression="zstd")
            built[name] = frame.height
        con.close()
        shutil.rmtree(scratch)
        stamp = _stamp(snapshot) | {"marts": built}
        (tmp / MARTS_FILE).write_text(json.dumps(stamp, indent=2) + "\n")
        old = final.with_name(f".old-{snapshot}-{os.getpid()}")
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        return stamp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
