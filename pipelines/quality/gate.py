"""`validate`: check a snapshot against the suites and store the verdict beside it.

The verdict (GX-shaped JSON) and an offline HTML page go to data/validation/<snapshot>/.
`require_passing` is what every downstream step calls: it refuses a snapshot without a
passing verdict under the current suites, so editing a suite invalidates old verdicts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow

from pipelines.core import catalog
from pipelines.core.engine import QUERY_ERRORS
from pipelines.core.paths import check_name, data_dir
from pipelines.core.period import month_end
from pipelines.core.schema import EVENT_TABLES, SCENE_TABLES, TABLES
from pipelines.core.schema import table as table_spec
from pipelines.core.snapshot import Snapshot, SnapshotError, list_snapshots
from pipelines.core.sql import SqlFolder
from pipelines.quality.bands import load_bands
from pipelines.quality.engine import Outcome, run_suites
from pipelines.quality.integrity import check_files
from pipelines.quality.page import render
from pipelines.quality.profile import profile
from pipelines.quality.suites import BALANCE_MIN_ARM, ENGINE_VERSION, PRE_PERIOD_DAYS, load_all, suites_hash

SQL = SqlFolder.beside(__file__)
RESULT = "result.json"
INTEGRITY_CACHE = "files-checked.json"
#: Set by the report runner for the notebooks of a run, to the manifest hash of the snapshot
#: whose files it checked and whose marts it built before the run, and checks again before
#: publishing it.
CHECKED_BY_RUN = "CARD_INSIGHTS_CHECKED_BY_RUN"
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


def _views(con: duckdb.DuckDBPyConnection, snap: Snapshot, schema: str, skip: set[str]) -> set[str]:
    """Views of a snapshot's tables (the files its manifest lists) in `schema`; tables in
    `skip` or unreadable are left out."""
    made = set()
    if schema != "main":
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for spec in TABLES:
        if spec.name in skip or spec.name not in snap.manifest["tables"]:
            continue
        source = catalog.parquet_source(snap.file_paths(spec.name))
        try:
            con.execute(f'CREATE VIEW {schema}."{spec.name}" AS SELECT * FROM {source}')
            made.add(spec.name)
        except QUERY_ERRORS:
            continue
    return made


def _derived(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any], query: str = "") -> bool:
    """Compute a small derived check table with bound parameters and expose it as a view."""
    try:
        con.register(name, con.sql(query or SQL.load(name), params=params).to_arrow_table())
        return True
    except QUERY_ERRORS:
        return False


def _month_days(snap: Snapshot) -> pyarrow.Table:
    """Each calendar month of the period with the number of its days inside the period."""
    months = snap.months()["month"].to_list()
    days = [(min(snap.end, month_end(m)) - max(snap.start, m)).days + 1 for m in months]
    return pyarrow.table({"month": pyarrow.array(months, pyarrow.date32()), "days": days})


#: The columns of volume_by_month, as a verdict keeps them for an extension to carry forward.
VOLUME_BY_MONTH = pyarrow.schema(
    [
        ("table_name", pyarrow.string()),
        ("month", pyarrow.date32()),
        ("rows", pyarrow.int64()),
        ("payers", pyarrow.int64()),
    ]
)


def _volume(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, available: set[str], carried: Carried
) -> dict[str, list[dict]]:
    """The volume views the suite checks, for the scenes the snapshot runs; returns what was
    observed, for the console, the verdict and the page (volume_by_month among it, which a
    later extension carries)."""
    present = [t for t in SCENE_TABLES.values() if t not in snap.absent_tables and t in available]
    observed: dict[str, list[dict]] = {}
    con.register("period_month_days", _month_days(snap))
    earlier = [{**row, "month": dt.date.fromisoformat(row["month"])} for row in carried.volume_by_month]
    con.register("volume_by_month_earlier", pyarrow.Table.from_pylist(earlier, VOLUME_BY_MONTH))
    if not _derived(con, "volume_by_month", {"since": carried.since.isoformat()}):
        return observed
    observed["volume_by_month"] = catalog.frame(con, "SELECT * FROM volume_by_month ORDER BY ALL").to_dicts()
    days = (snap.end - snap.start).days + 1
    if _derived(con, "volume", {"tables": present, "days": days}):
        observed["volume"] = catalog.frame(con, "SELECT * FROM volume ORDER BY table_name").to_dicts()
        for table in present:
            if _derived(con, f"volume_{table}", {"t": table}, "SELECT * FROM volume WHERE table_name = $t"):
                available.add(f"volume_{table}")
    if _derived(con, "monthly_volume", {"tables": present}):
        available.add("monthly_volume")
        observed["monthly_volume"] = catalog.frame(con, "SELECT * FROM monthly_volume ORDER BY ALL").to_dicts()
    return observed


@dataclass(frozen=True)
class Carried:
    """What a monthly extension takes from its parent's verdict instead of reading the parent's
    files again: the months before `since` (the first month its new days touch), their
    per-month volumes, and the parent's profile. A snapshot that extends nothing carries
    nothing (`since` before any event)."""

    since: dt.date = dt.date(1, 1, 1)
    volume_by_month: tuple[dict[str, Any], ...] = ()
    profile: tuple[dict[str, Any], ...] = ()

    @classmethod
    def of(cls, snap: Snapshot, parent: Snapshot | None) -> Carried:
        if parent is None:
            return cls()
        document = json.loads((validation_dir(parent.id) / RESULT).read_text())
        since = dt.date(snap.new_start.year, snap.new_start.month, 1)
        return cls(since, tuple(document["observed"].get("volume_by_month", ())), tuple(document.get("profile", ())))


def previous_of(snapshot: str) -> str | None:
    """The snapshot to compare volumes and scene mix with: the one it extends, or None if that
    was removed (another line's snapshot says nothing of this one's months); else, of those
    whose period ends before this one's, the one that ends last (ties: the last by ID); None
    when there is none."""
    snap = Snapshot.open(snapshot)
    snapshots = list_snapshots()
    if snap.extends is not None:
        return snap.extends if snap.extends in snapshots else None
    end = snap.end
    earlier = [(s.end, s.id) for s in map(Snapshot.open, snapshots) if s.end < end]
    return max(earlier)[1] if earlier else None


def _new_days(con: duckdb.DuckDBPyConnection, snap: Snapshot, parent: Snapshot, available: set[str]) -> dict[str, str]:
    """For a snapshot that extends another: a view of each event table's new rows, which its
    own rules check (the months it shares passed the parent's gate); `reused_ids`, the new
    rows whose ID the months before already use; and `dropped_campaigns`, the parent's
    campaigns this snapshot lacks (an extract of the month's campaigns alone would drop the
    earlier ones). Returns the views the rules scan."""
    batches = {}
    reused = []
    for name in EVENT_TABLES:
        # A scene the snapshot does not run has no new days to check.
        own = snap.file_paths(name, shared=False) if name in available else []
        if not own:
            continue
        key = table_spec(name).primary_key
        view = f"{name} (new days)"
        con.execute(f'CREATE VIEW "{view}" AS SELECT * FROM {catalog.parquet_source(own)}')
        batches[name] = view
        if shared := snap.file_paths(name, shared=True):
            # The history on the probe side: the new days' key range, pushed into its scan,
            # skips the row groups of earlier months (IDs that grow with time never overlap).
            reused.append(
                f"SELECT '{name}' AS table_name, CAST(e.{key} AS VARCHAR) AS id "
                f'FROM {catalog.parquet_source(shared)} e SEMI JOIN "{view}" b ON b.{key} = e.{key}'
            )
    if reused and _derived(con, "reused_ids", {}, " UNION ALL ".join(reused)):
        available.add("reused_ids")
    parents = catalog.parquet_source(parent.file_paths("campaigns"))
    dropped = f"SELECT p.campaign_id FROM {parents} p ANTI JOIN main.campaigns c USING (campaign_id)"
    if "campaigns" in available and _derived(con, "dropped_campaigns", {}, dropped):
        available.add("dropped_campaigns")
    return batches


#: The campaigns of an extension whose draw its parent's gate did not check: new ones, and any
#: whose row or assignments changed.
CHANGED_CAMPAIGNS = """
SELECT campaign_id FROM (SELECT * FROM main.campaigns EXCEPT SELECT * FROM parent.campaigns)
UNION
SELECT campaign_id FROM (
    (SELECT campaign_id, member_id, arm FROM main.campaign_assignments
     EXCEPT ALL SELECT campaign_id, member_id, arm FROM parent.campaign_assignments)
    UNION ALL
    (SELECT campaign_id, member_id, arm FROM parent.campaign_assignments
     EXCEPT ALL SELECT campaign_id, member_id, arm FROM main.campaign_assignments)
)
"""


def _balance(con: duckdb.DuckDBPyConnection, snap: Snapshot, parent: Snapshot | None) -> bool:
    """The campaign_balance view, over every campaign, or for an extension those its parent's
    gate did not check; reads purchases from the first day a checked campaign's pre-period
    opens. False when a table it needs is unreadable."""
    try:
        if parent is None:
            con.execute("CREATE VIEW checked_campaigns AS SELECT campaign_id FROM campaigns")
        else:
            _views(con, parent, "parent", {t.name for t in TABLES} - {"campaigns", "campaign_assignments"})
            con.execute(f"CREATE VIEW checked_campaigns AS {CHANGED_CAMPAIGNS}")
        first = con.execute(
            "SELECT min(start_date) FROM campaigns WHERE campaign_id IN (SELECT campaign_id FROM checked_campaigns)"
        ).fetchall()[0][0]
    except QUERY_ERRORS:
        return False
    opens = first - dt.timedelta(days=PRE_PERIOD_DAYS) if first else snap.end + dt.timedelta(days=1)
    params = {"from": opens.isoformat(), "pre_days": PRE_PERIOD_DAYS, "min_arm": BALANCE_MIN_ARM}
    return _derived(con, "campaign_balance", params)


def _current(con: duckdb.DuckDBPyConnection, batches: dict[str, str]) -> None:
    """Schema "current", what the comparison with the previous snapshot reads: the tables, or
    for a snapshot that extends another the new days of its event tables."""
    con.execute("CREATE SCHEMA IF NOT EXISTS current")
    for spec in TABLES:
        source = f'"{batches[spec.name]}"' if spec.name in batches else f'main."{spec.name}"'
        with contextlib.suppress(*QUERY_ERRORS):  # a table the integrity check found broken
            con.execute(f'CREATE VIEW current."{spec.name}" AS SELECT * FROM {source}')


def _parent_passed(snap: Snapshot) -> Snapshot | None:
    """The parent whose verdict an extension stands on for the months they share; None when
    the snapshot extends nothing, or its parent was removed since (then every rule reads the
    whole history). GateError if the parent has not passed."""
    if snap.extends is None or snap.extends not in list_snapshots():
        return None
    try:
        parent = require_passing(snap.extends)
    except (GateError, SnapshotError) as exc:
        raise GateError(
            f"snapshot {snap.id!r} extends {snap.extends!r}, which must pass the gate first: {exc}"
        ) from None
    if parent.manifest_sha256 != snap.manifest["extends"]["manifest_sha256"]:
        raise GateError(f"snapshot {snap.id!r} extends a snapshot {snap.extends!r} that has since been replaced")
    return parent


def validate(
    snapshot: str,
    previous: str | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
    connect: Callable[[], Any] | None = None,
) -> Verdict:
    """Check a snapshot against every suite and store the verdict. A snapshot that extends
    another has its new days checked by the per-table rules, against the whole history by the
    rules across tables and months, and is compared with its parent unless told otherwise.
    `connect` gives the connection the checks' SQL runs on (default: an in-memory DuckDB; the
    Spark one is pipelines.spark.connection.SparkConnection): the same SQL and the same
    verdict either way."""
    snap = Snapshot.open(snapshot)
    parent = _parent_passed(snap)
    previous = previous or (parent.id if parent else None)
    prev = Snapshot.open(previous) if previous else None
    suites = load_all()
    now = now or dt.datetime.now(ZoneInfo("Asia/Taipei")).replace(tzinfo=None)
    if progress:
        progress("file integrity")
    shared = validation_dir(parent.id) / INTEGRITY_CACHE if parent else None
    # An extension's own rules and its drift against the parent read the days it adds.
    first_day = snap.new_start if parent else snap.start
    integrity = check_files(snap, validation_dir(snapshot) / INTEGRITY_CACHE, full=True, shared=shared)
    broken = {p["table"] for p in integrity}
    params: dict[str, Any] = {
        "period_start": f"{first_day} 00:00:00",
        "period_end": f"{snap.end} 23:59:59.999999",
        "now": now.isoformat(sep=" "),
        **load_bands().params(),
    }
    for table in SCENE_TABLES.values():
        absent = table in snap.absent_tables
        params[f"{table}_min_rows"], params[f"{table}_max_rows"] = (0, 0) if absent else (1, None)
    con = connect() if connect else catalog.configure(duckdb.connect(":memory:"))
    runs_on = getattr(con, "engine_name", "DuckDB")
    available = _views(con, snap, "main", broken)
    batches = _new_days(con, snap, parent, available) if parent else {}
    carried = Carried.of(snap, parent)
    observed = _volume(con, snap, available, carried)
    if {"campaigns", "campaign_assignments", "purchases", "cards", "members"} <= available and _balance(
        con, snap, parent
    ):
        available.add("campaign_balance")
        observed["campaign_balance"] = catalog.frame(con, "SELECT * FROM campaign_balance").to_dicts()
    if prev is not None:
        _views(con, prev, "previous", set())
        _current(con, batches)
        scenes = [s for s in snap.scenes if s in prev.scenes]
        tables = [t.name for t in TABLES if t.kind != "event"] + [SCENE_TABLES[s] for s in scenes]
        changes = {
            "volume_change": {
                "days": (snap.end - first_day).days + 1,
                "previous_days": (prev.end - prev.start).days + 1,
                "tables": tables,
            },
            "scene_mix_change": {"scenes": scenes},
        }
        for name, args in changes.items():
            if _derived(con, name, args):
                available.add(name)
                observed[name] = catalog.frame(con, f"SELECT * FROM {name} ORDER BY ALL").to_dicts()
    holds = profile(con, available, batches, carried.profile)
    keys = {t.name: t.key_columns for t in TABLES} | {
        "volume_change": ["table_name"],
        "scene_mix_change": ["scene"],
        "campaign_balance": ["campaign_id"],
    }
    outcomes = run_suites(con, suites, params, keys, available=available, progress=progress, batches=batches)
    con.close()
    success = not integrity and all(o.success is not False for o in outcomes)
    evaluated = [o for o in outcomes if o.success is not None]
    document = {
        "success": success,
        "snapshot": snapshot,
        "snapshot_manifest_sha256": snap.manifest_sha256,
        "previous_snapshot": previous,
        "extends": snap.extends,
        "suites_hash": suites_hash(),
        "suites": sorted(suites),
        "engine": f"card-insights engine {ENGINE_VERSION} on {runs_on} "
        f"(GX {version('great-expectations')} suite format)",
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
        "scenes": list(snap.scenes),
        "observed": observed,
        "profile": holds,
        "results": [o.to_json() for o in outcomes],
    }
    folder = validation_dir(snapshot)
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / RESULT, json.dumps(document, indent=1, default=str) + "\n")
    _write_atomic(folder / PAGE, render(document, snap.label))
    return Verdict(snapshot, success, outcomes, integrity, document, folder / RESULT)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def require_passing(snapshot: Snapshot | str) -> Snapshot:
    """The snapshot with its stored verdict, if that passed under the current suites for
    this very manifest, and its files are still as validated; otherwise GateError. Every
    downstream step starts here. The notebooks of a report run leave the files to the run,
    which checks them before its first report and after its last: checking thousands of
    files for each report would add minutes to a batch of thousands."""
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
    if not checked_by_run(snap):
        require_unchanged_files(snap)
    return snap.with_verdict(verdict)


def checked_by_run(snap: Snapshot) -> bool:
    """Whether this process runs a report of a run that checks the snapshot's files and marts
    itself, before its first report and after its last (CHECKED_BY_RUN)."""
    return os.environ.get(CHECKED_BY_RUN) == snap.manifest_sha256


def require_unchanged_files(snap: Snapshot) -> None:
    """GateError naming the problems if the snapshot's files are not those it was validated
    with (missing, changed, or a file its manifest does not list)."""
    problems = check_files(snap, validation_dir(snap.id) / INTEGRITY_CACHE)
    if problems:
        listed = "; ".join(f"{p['file'] or p['table']}: {p['problem']}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise GateError(
            f"snapshot {snap.id!r} is not as it was validated: {listed}{more}. Snapshots are immutable: "
            "restore the files, or import the data again under a new ID"
        )
