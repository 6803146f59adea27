"""The operator's size on one machine, for `make bench` (#20): a full cycle, then a monthly update.

Full cycle: six months generated (their members drawn over a seventh, so that the next month
can extend them), gated, their marts built and the monthly report batch run. Monthly update:
the seventh month generated extending them (`generate --extends`: the six months' files are
shared), gated, its marts built on theirs and the batch run. Beside it, for the goal "the marts
step no more than 1.5x the cost of building the new month alone", the seventh month generated
as a snapshot of its own, gated and its marts built. Each step runs in its own process, with the
default settings: its seconds and peak memory (goal: under 16 GB). The goal of the update's
total is 30 minutes on two cores.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path

from pipelines.bench.harness import Measurement, env, generated, measure
from pipelines.ingest.generator.params import GeneratorParams

#: Months of the full cycle; the update adds one.
MONTHS = 6
START = dt.date(2025, 1, 1)
#: Goals: the update's total on two cores, and every step's peak resident memory.
UPDATE_MINUTES = 30
PEAK_MB = 16_000


def extend(snapshot: str, parent: str) -> dict:
    """Generate the month after `parent`'s as snapshot `snapshot` (`generate --extends`)."""
    from pipelines.core.snapshot import Snapshot
    from pipelines.ingest.generator import generate

    began = time.perf_counter()
    generate(snapshot, extends=parent)
    seconds = time.perf_counter() - began
    snap = Snapshot.open(snapshot)
    own = sum(f["rows"] for t in snap.manifest["tables"].values() for f in t["files"] if "from" not in f)
    return {"seconds": seconds, "rows": own}


def _step(label: str, function: str, environment: dict[str, str], **kwargs: str) -> Measurement:
    return measure(label, "monthly", function, environment, **kwargs)


def part(scale: float, data: Path) -> Iterator[Measurement]:
    """The full cycle, the monthly update and the new month alone, a row per step as it ends,
    then the cycle's and the update's totals against their goals."""
    environment = env(data) | {"CARD_INSIGHTS_REPORTS": str(data / "reports")}
    os.environ.update(environment)
    cycle, update, alone = "operator-cycle", "operator-update", "operator-alone"
    new_month = GeneratorParams(start=START, months=MONTHS).end + dt.timedelta(days=1)
    whole = f"the {MONTHS} months"
    by: dict[tuple[str, str], Measurement] = {}

    def done(step: str, kind: str, m: Measurement) -> Measurement:
        by[step, kind] = m
        return m

    yield done(
        "generate",
        "cycle",
        generated(cycle, scale, environment, months=MONTHS, first=START.isoformat(), horizon=MONTHS + 1),
    )
    for step, function in (("gate", "gate_step"), ("marts", "marts_step"), ("monthly batch", "batch_step")):
        yield done(step, "cycle", _step(f"{step}, {whole} whole", function, environment, snapshot=cycle))
    extension = measure(
        f"generate month {MONTHS + 1} extending them", "operator", "extend", environment, snapshot=update, parent=cycle
    )
    yield done("generate", "update", extension)
    for step, function in (("gate", "gate_step"), ("marts", "marts_step"), ("monthly batch", "batch_step")):
        yield done(
            step, "update", _step(f"{step}, month {MONTHS + 1} extending them", function, environment, snapshot=update)
        )
    yield done("generate", "alone", generated(alone, scale, environment, months=1, first=new_month.isoformat()))
    for step, function in (("gate", "gate_step"), ("marts", "marts_step")):
        yield done(step, "alone", _step(f"{step}, month {MONTHS + 1} alone", function, environment, snapshot=alone))
    ratio = by["marts", "update"].seconds / by["marts", "alone"].seconds
    note = by["marts", "update"].detail.get("note")
    by["marts", "update"].detail["note"] = "; ".join(
        filter(None, [f"{ratio:.2f}x the new month alone (goal 1.5x)", note])
    )
    yield _total(f"full cycle, {whole} (generate, gate, marts, monthly batch)", by, "cycle")
    yield _total(f"monthly update, month {MONTHS + 1} (generate --extends, gate, marts, monthly batch)", by, "update")


def _total(what: str, by: dict[tuple[str, str], Measurement], kind: str) -> Measurement:
    """The steps of the cycle or the update summed, against the goals of peak memory and, for
    the update, time."""
    parts = [by[step, kind] for step in ("generate", "gate", "marts", "monthly batch")]
    seconds = sum(m.seconds for m in parts)
    peak = max(m.peak_mb for m in parts)
    goals = [f"peak {'under' if peak < PEAK_MB else 'over'} {PEAK_MB / 1000:g} GB"]
    if kind == "update":
        verdict = "under" if seconds < UPDATE_MINUTES * 60 else "over"
        goals.insert(0, f"{seconds / 60:.1f} min: {verdict} the {UPDATE_MINUTES}-minute goal")
    steps = ", ".join(f"{m.name.split(',')[0]} {m.seconds:.0f} s" for m in parts)
    return Measurement(what, seconds, peak, {"rows": parts[0].detail["rows"], "note": "; ".join([*goals, steps])})
