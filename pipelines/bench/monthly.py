"""A monthly update next to the same work from scratch, for `make bench` (#20).

A generated half year is cut into the extract of its first five months and that of the sixth,
as an operator sends them. Measured, each in its own process: the first five months imported,
gated and their marts built whole; the sixth imported as an extension (sharing the five
months' files), gated (its own rows, the rules across months) and its marts built on the
parent's; and, for the goal "the marts step no more than 1.5x the cost of building the new
month alone", the sixth month imported alone as a snapshot, gated and its marts built.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

from pipelines import marts
from pipelines.bench.harness import Measurement, env, generated, measure
from pipelines.core import catalog
from pipelines.core.schema import TABLES
from pipelines.core.snapshot import Snapshot
from pipelines.ingest.importer import import_source
from pipelines.quality.gate import validate

#: The benchmark's "now": after the generated half year, so that nothing lies in the future.
NOW = dt.datetime(2026, 1, 1)


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
    assert verdict.success, f"{snapshot} failed the gate"
    return {"seconds": seconds, "rows": _rows(snapshot)}


def marts_step(snapshot: str) -> dict:
    began = time.perf_counter()
    stamp = marts.build(snapshot)
    seconds = time.perf_counter() - began
    extended = stamp.get("extended")
    note = f"reused {', '.join(f'{k} {v:,} rows' for k, v in extended['rows_reused'].items())}" if extended else ""
    return {"seconds": seconds, "rows": _rows(snapshot), "note": note}


def _rows(snapshot: str) -> int:
    tables = Snapshot.open(snapshot).manifest["tables"]
    return sum(tables[t.name]["rows"] for t in TABLES if t.kind == "event")


def part(scale: float, data: Path) -> list[Measurement]:
    """The monthly update next to the whole history and the new month alone."""
    environment = env(data)
    gen = generated("bench-monthly-source", scale, environment)
    os.environ.update(environment)
    folder = data / "extracts"
    cut = measure(
        "extracts", "monthly", "write_extracts", environment, snapshot="bench-monthly-source", folder=str(folder)
    )
    start, last, end = cut.detail["start"], cut.detail["last"], cut.detail["end"]
    before = str(dt.date.fromisoformat(last) - dt.timedelta(days=1))
    history, month, alone = (str(folder / name) for name in ("history", "month", "alone"))
    steps = [
        (
            "import, five months whole",
            "import_step",
            {"folder": history, "snapshot": "five", "start": start, "end": before},
        ),
        ("gate, five months whole", "gate_step", {"snapshot": "five"}),
        ("marts, five months whole", "marts_step", {"snapshot": "five"}),
        (
            "import, month six extending them",
            "import_step",
            {"folder": month, "snapshot": "six", "start": last, "end": end, "extends": "five"},
        ),
        ("gate, month six extending them", "gate_step", {"snapshot": "six"}),
        ("marts, month six extending them", "marts_step", {"snapshot": "six"}),
        ("import, month six alone", "import_step", {"folder": alone, "snapshot": "alone", "start": last, "end": end}),
        ("gate, month six alone", "gate_step", {"snapshot": "alone"}),
        ("marts, month six alone", "marts_step", {"snapshot": "alone"}),
    ]
    out = [gen]
    by_name = {}
    for label, function, kwargs in steps:
        m = measure(label, "monthly", function, environment, **kwargs)
        by_name[label] = m
        out.append(m)
    for what in ("gate", "marts"):
        extending, alone = by_name[f"{what}, month six extending them"], by_name[f"{what}, month six alone"]
        whole = by_name[f"{what}, five months whole"]
        ratio = (
            f"{extending.seconds / alone.seconds:.2f}x the new month alone, "
            f"{extending.seconds / whole.seconds:.2f}x the five months whole"
        )
        extending.detail["note"] = "; ".join(filter(None, [ratio, extending.detail.get("note")]))
    return out
