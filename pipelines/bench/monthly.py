"""A monthly update next to the same work from scratch, for `make bench` (#20).

A generated period of h + 1 months is cut into the extract of its first h months and that of
the last, as an operator sends them, for h = 3, 6 and 12 (HISTORIES). Measured, each in its
own process: the h months imported, gated and their marts built whole; the last month
imported as an extension (sharing the history's files), gated (its own rows, the rules across
months), its marts built on the parent's and the monthly report batch run on it; and, for the
goal "the marts step no more than 1.5x the cost of building the new month alone", the last
month imported alone as a snapshot, gated and its marts built. The goal "flat within 20 %"
compares the updates on the three histories.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from pipelines import marts
from pipelines.bench.harness import Measurement, env, generated, measure
from pipelines.bench.reports import run_batch
from pipelines.core import catalog
from pipelines.core.schema import TABLES
from pipelines.core.snapshot import Snapshot
from pipelines.ingest.importer import import_source
from pipelines.quality.gate import validate

#: The benchmark's "now": after every generated period (all end in December 2025), so that
#: nothing lies in the future, the history's cards and members (whole, as of the period's end)
#: included.
NOW = dt.datetime(2030, 1, 1)


def _where(name: str, time_column: str | None, start: dt.date | None, stop: dt.date, alone: bool) -> str:
    """The rows of table `name` that an extract made on the eve of `stop` holds: events from
    `start` (None: all before `stop`); the campaigns started by then (`alone`: those started
    from `start`, a snapshot of the new days only having no purchases of earlier ones)."""
    if time_column:
        return f"\"{time_column}\" < DATE '{stop}'" + (f" AND \"{time_column}\" >= DATE '{start}'" if start else "")
    started = f"start_date < DATE '{stop}'" + (f" AND start_date >= DATE '{start}'" if alone else "")
    if name == "campaigns":
        return started
    if name == "campaign_assignments":
        return f"campaign_id IN (SELECT campaign_id FROM campaigns WHERE {started})"
    if name == "redemptions":
        return (
            f"campaign_id IN (SELECT campaign_id FROM campaigns WHERE {started}) "
            f"AND purchase_id IN (SELECT purchase_id FROM purchases WHERE purchased_at < DATE '{stop}')"
        )
    return "true"


def write_extracts(snapshot: str, folder: str) -> dict:
    """The generated snapshot as extracts: `history` (the first five months), `month` (the
    sixth, with the current members, cards, merchants and campaigns, to extend the history)
    and `alone` (the sixth as a snapshot of its own, with the campaigns started in it)."""
    snap = Snapshot.open(snapshot)
    last = dt.date(snap.end.year, snap.end.month, 1)
    with catalog.connect(snap) as con:
        for extract, start in (("history", None), ("month", last), ("alone", last)):
            target = Path(folder) / extract
            target.mkdir(parents=True, exist_ok=True)
            for t in TABLES:
                stop = last if extract == "history" else snap.end + dt.timedelta(days=1)
                where = _where(t.name, t.time_column, start, stop, alone=extract == "alone")
                path = catalog.sql_literal(str(target / f"{t.name}.parquet"))
                con.execute(f'COPY (SELECT * FROM "{t.name}" WHERE {where}) TO {path} (FORMAT parquet)')
    return {"seconds": 0.0, "start": str(snap.start), "last": str(last), "end": str(snap.end)}


def import_step(folder: str, snapshot: str, start: str, end: str, extends: str | None = None) -> dict:
    began = time.perf_counter()
    import_source(Path(folder), snapshot, dt.date.fromisoformat(start), dt.date.fromisoformat(end), extends=extends)
    return {"seconds": time.perf_counter() - began, "rows": _rows(snapshot)}


def gate_step(snapshot: str) -> dict:
    began = time.perf_counter()
    verdict = validate(snapshot, now=NOW)
    seconds = time.perf_counter() - began
    if not verdict.success:
        failed = [f"{o.expectation['meta']['table']}: {o.expectation.get('description')}" for o in verdict.failures]
        problems = [f"{p['file'] or p['table']}: {p['problem']}" for p in verdict.integrity]
        raise RuntimeError(f"{snapshot} failed the gate: " + "; ".join([*problems, *failed][:5]))
    return {"seconds": seconds, "rows": _rows(snapshot)}


def marts_step(snapshot: str) -> dict:
    began = time.perf_counter()
    stamp = marts.build(snapshot)
    seconds = time.perf_counter() - began
    extended = stamp.get("extended")
    note = ""
    if extended:
        kept = extended["rows_reused"]
        note = f"{sum(kept.values()):,} rows of the parent's months shared by {len(kept)} marts"
    return {"seconds": seconds, "rows": _rows(snapshot), "note": note}


def batch_step(snapshot: str) -> dict:
    """The monthly report batch on the snapshot, as `run` does it (reports.run_batch)."""
    done = run_batch(snapshot, BATCH)
    per = done["seconds"] / done["reports"]
    return {
        "seconds": done["seconds"],
        "rows": _rows(snapshot),
        "note": f"{done['reports']} reports, {per:.2f} s each, {done['jobs']} jobs",
    }


def _rows(snapshot: str) -> int:
    tables = Snapshot.open(snapshot).manifest["tables"]
    return sum(tables[t.name]["rows"] for t in TABLES if t.kind == "event")


#: Months of history the monthly update is measured on; goal: its time flat within 20 %.
HISTORIES = (3, 6, 12)
#: The report batch a monthly update runs.
BATCH = "monthly"


def _history(h: int, scale: float, data: Path, environment: dict[str, str]) -> Iterator[Measurement]:
    """`h` months whole, then month h + 1 extending them (import, gate, marts, the monthly
    batch), then month h + 1 alone as a snapshot."""
    source = f"bench-monthly-{h}"
    # Every period ends with December 2025: the history's cards and members are those at the
    # end of the new month, and ages (birth years) must not cross a year between the two.
    years, month = divmod(11 - h, 12)
    first = dt.date(2025 + years, month + 1, 1)
    gen = generated(source, scale, environment, months=h + 1, first=first.isoformat())
    folder = data / f"extracts-{h}"
    cut = measure(
        f"extracts, {h} months", "monthly", "write_extracts", environment, snapshot=source, folder=str(folder)
    )
    start, last, end = cut.detail["start"], cut.detail["last"], cut.detail["end"]
    before = str(dt.date.fromisoformat(last) - dt.timedelta(days=1))
    whole, update, alone = f"whole-{h}", f"update-{h}", f"alone-{h}"
    extracts = {name: str(folder / name) for name in ("history", "month", "alone")}
    steps = [
        (
            "import",
            "whole",
            "import_step",
            {"folder": extracts["history"], "snapshot": whole, "start": start, "end": before},
        ),
        ("gate", "whole", "gate_step", {"snapshot": whole}),
        ("marts", "whole", "marts_step", {"snapshot": whole}),
        (
            "import",
            "update",
            "import_step",
            {"folder": extracts["month"], "snapshot": update, "start": last, "end": end, "extends": whole},
        ),
        ("gate", "update", "gate_step", {"snapshot": update}),
        ("marts", "update", "marts_step", {"snapshot": update}),
        ("monthly batch", "update", "batch_step", {"snapshot": update}),
        ("import", "alone", "import_step", {"folder": extracts["alone"], "snapshot": alone, "start": last, "end": end}),
        ("gate", "alone", "gate_step", {"snapshot": alone}),
        ("marts", "alone", "marts_step", {"snapshot": alone}),
    ]
    what = {
        "whole": f"the {h} months whole",
        "update": f"month {h + 1} extending them",
        "alone": f"month {h + 1} alone",
    }
    yield gen
    by = {}
    for step, kind, function, kwargs in steps:
        m = measure(f"{step}, {what[kind]}", "monthly", function, environment, **kwargs)
        by[step, kind] = m
        yield m
    for step in ("gate", "marts"):
        extending, new = by[step, "update"], by[step, "alone"]
        ratio = f"{extending.seconds / new.seconds:.2f}x the new month alone"
        extending.detail["note"] = "; ".join(filter(None, [ratio, extending.detail.get("note")]))
    parts = [by[step, "update"] for step in ("import", "gate", "marts", "monthly batch")]
    seconds = sum(m.seconds for m in parts)
    total = Measurement(
        f"monthly update on {h} months of history (import, gate, marts, monthly batch)",
        seconds,
        max(m.peak_mb for m in parts),
        {
            "rows": by["import", "update"].detail["rows"],
            "note": ", ".join(f"{m.name.split(',')[0]} {m.seconds:.1f} s" for m in parts),
        },
    )
    yield total


def part(scale: float, data: Path) -> Iterator[Measurement]:
    """The monthly update on 3, 6 and 12 months of history, each next to the history whole and
    the new month alone; the updates compared with each other (goal: flat within 20 %)."""
    environment = env(data) | {"CARD_INSIGHTS_REPORTS": str(data / "reports")}
    os.environ.update(environment)
    totals = []
    for h in HISTORIES:
        for m in _history(h, scale, data, environment):
            yield m
        totals.append(m)  # the last row of a history is its update's total
        # Each history's snapshots, marts and extracts go before the next is generated.
        for folder in ("snapshots", "marts", "validation", "ground_truth", "reports", f"extracts-{h}"):
            shutil.rmtree(data / folder, ignore_errors=True)
    fastest = min(m.seconds for m in totals)
    for m in totals:
        m.detail["note"] = f"{m.seconds / fastest:.2f}x the fastest update; " + m.detail["note"]
