"""`validate`: check a snapshot against the suites and store the verdict beside it.

The verdict (GX-shaped JSON) and an offline HTML page go to data/validation/<snapshot>/.
`require_passing` is what every downstream step calls: it refuses a snapshot without a
passing verdict under the current suites, so editing a suite invalidates old verdicts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from pipelines.core import catalog
from pipelines.core.paths import check_name, data_dir, snapshot_path
from pipelines.core.schema import TABLES
from pipelines.core.snapshot import Snapshot, sha256_file
from pipelines.core.sql import SqlFolder
from pipelines.quality.engine import Outcome, run_suites
from pipelines.quality.page import render
from pipelines.quality.suites import ENGINE_VERSION, load_all, suites_hash

SQL = SqlFolder.beside(__file__)
RESULT = "result.json"
PAGE = "data_quality.html"


class GateError(RuntimeError):
    """Downstream work asked for a snapshot that has not passed the gate."""


def validation_dir(snapshot: str) -> Path:
    return data_dir() / "validation" / check_name(snapshot)


@dataclass
class Verdict:
    snapshot: str
    success: bool
    outcomes: list[Outcome]
    integrity: list[dict[str, str]]
    document: dict[str, Any]
    path: Path

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.success is False]


def _integrity(snapshot: str, manifest: dict[str, Any]) -> list[dict[str, str]]:
    """Every file the manifest lists is present, unchanged (sha256) and readable as Parquet."""
    root = snapshot_path(snapshot)
    problems: list[dict[str, str]] = []
    for spec in TABLES:
        if spec.name not in manifest["tables"]:
            problems.append({"table": spec.name, "file": "", "problem": "table is missing from the snapshot"})
    files = [(name, f) for name, t in manifest["tables"].items() for f in t["files"]]

    def check(item: tuple[str, dict[str, Any]]) -> dict[str, str] | None:
        name, f = item
        path = root / f["path"]
        if not path.exists():
            return {"table": name, "file": f["path"], "problem": "file is missing"}
        if sha256_file(path) != f["sha256"]:
            return {
                "table": name,
                "file": f["path"],
                "problem": "file changed since the snapshot was written "
                "(sha256 differs from the manifest): truncated, corrupt or edited",
            }
        return None

    # hashlib releases the GIL, so two threads hash two files at once.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        problems += [p for p in pool.map(check, files) if p]
    bad_files = {p["file"] for p in problems}
    con = duckdb.connect()
    for name, f in files:
        if f["path"] in bad_files:
            continue
        try:
            con.execute("SELECT count(*) FROM parquet_metadata(?)", [str(root / f["path"])]).fetchall()
        except duckdb.Error as exc:
            problems.append({"table": name, "file": f["path"], "problem": f"not readable as Parquet: {exc}"})
    return problems


def _views(con: duckdb.DuckDBPyConnection, snapshot: str, schema: str, skip: set[str]) -> set[str]:
    """Views of a snapshot's tables in `schema`; tables in `skip` or unreadable are left out."""
    made = set()
    if schema != "main":
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for spec in TABLES:
        if spec.name in skip:
            continue
        try:
            con.execute(
                f'CREATE VIEW {schema}."{spec.name}" AS SELECT * FROM read_parquet('
                f"{catalog.sql_literal(str(snapshot_path(snapshot) / spec.name / '*.parquet'))})"
            )
            made.add(spec.name)
        except duckdb.Error:
            continue
    return made


def _period_days(manifest: dict[str, Any]) -> tuple[int, int]:
    start = dt.date.fromisoformat(manifest["period"]["start"])
    end = dt.date.fromisoformat(manifest["period"]["end"])
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    return (end - start).days + 1, months


def _derived(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> bool:
    """Compute a small derived check table with bound parameters and expose it as a view."""
    try:
        con.register(name, con.sql(SQL.load(name), params=params).to_arrow_table())
        return True
    except duckdb.Error:
        return False


def validate(
    snapshot: str,
    previous: str | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> Verdict:
    snap = Snapshot.open(snapshot)
    manifest = snap.manifest
    previous_manifest = Snapshot.open(previous).manifest if previous else None
    suites = load_all()
    now = now or dt.datetime.now(ZoneInfo("Asia/Taipei")).replace(tzinfo=None)
    if progress:
        progress("file integrity")
    integrity = _integrity(snapshot, manifest)
    broken = {p["table"] for p in integrity}
    days, months = _period_days(manifest)
    params: dict[str, Any] = {
        "period_start": f"{manifest['period']['start']} 00:00:00",
        "period_end": f"{manifest['period']['end']} 23:59:59.999999",
        "now": now.isoformat(sep=" "),
    }
    con = catalog.configure(duckdb.connect(":memory:"))
    available = _views(con, snapshot, "main", broken)
    if _derived(con, "volume", {"months": months}):
        available.add("volume")
    if previous_manifest is not None:
        _views(con, previous, "previous", set())
        prev_days, _ = _period_days(previous_manifest)
        for name, args in (("volume_change", {"days": days, "previous_days": prev_days}), ("scene_mix_change", {})):
            if _derived(con, name, args):
                available.add(name)
    keys = {t.name: [t.primary_key] for t in TABLES} | {"volume_change": ["table_name"], "scene_mix_change": ["scene"]}
    outcomes = run_suites(con, suites, params, keys, available=available, progress=progress)
    con.close()
    success = not integrity and all(o.success is not False for o in outcomes)
    evaluated = [o for o in outcomes if o.success is not None]
    document = {
        "success": success,
        "snapshot": snapshot,
        "snapshot_manifest_sha256": snap.manifest_sha256,
        "previous_snapshot": previous,
        "suites_hash": suites_hash(),
        "suites": sorted(suites),
        "engine": f"card-insights DuckDB engine {ENGINE_VERSION} (GX {version('great-expectations')} suite format)",
        "validated_at": now.isoformat(sep=" ", timespec="seconds") + " Asia/Taipei",
        "suite_parameters": params,
        "statistics": {
            "evaluated_expectations": len(evaluated),
            "successful_expectations": sum(1 for o in evaluated if o.success),
            "unsuccessful_expectations": sum(1 for o in evaluated if not o.success),
            "not_applicable": len(outcomes) - len(evaluated),
            "success_percent": 100.0 * sum(1 for o in evaluated if o.success) / max(1, len(evaluated)),
        },
        "integrity": integrity,
        "results": [o.to_json() for o in outcomes],
    }
    folder = validation_dir(snapshot)
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / RESULT, json.dumps(document, indent=1, default=str) + "\n")
    _write_atomic(folder / PAGE, render(document))
    return Verdict(snapshot, success, outcomes, integrity, document, folder / RESULT)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def require_passing(snapshot: Snapshot | str) -> Snapshot:
    """The snapshot with its stored verdict, if that passed under the current suites for
    this very manifest; otherwise GateError. Every downstream step starts here."""
    snap = snapshot if isinstance(snapshot, Snapshot) else Snapshot.open(snapshot)
    snapshot = snap.id
    path = validation_dir(snapshot) / RESULT
    if not path.exists():
        raise GateError(
            f"snapshot {snapshot!r} has not been validated: run `python -m pipelines validate -s {snapshot}`"
        )
    verdict = json.loads(path.read_text())
    if verdict.get("snapshot_manifest_sha256") != snap.manifest_sha256:
        raise GateError(
            f"snapshot {snapshot!r} was replaced after it was validated: "
            f"run `python -m pipelines validate -s {snapshot}` again"
        )
    if verdict.get("suites_hash") != suites_hash():
        raise GateError(
            f"snapshot {snapshot!r} was validated under older expectation suites: "
            f"run `python -m pipelines validate -s {snapshot}` again"
        )
    if not verdict.get("success"):
        raise GateError(
            f"snapshot {snapshot!r} failed validation ({verdict['statistics']['unsuccessful_expectations']} "
            f"expectations, {len(verdict['integrity'])} file problems); see {validation_dir(snapshot) / PAGE}"
        )
    return snap.with_verdict(verdict)
