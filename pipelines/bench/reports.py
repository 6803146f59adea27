"""Report runs for `make bench`: the default batch and 100 merchant profiles, timed end to end.

Each run is `runner.run(..., force=True)` with the jobs `run` starts by default, on a snapshot that is
already validated with its marts built (those have their own benchmarks), so the time is the
runner's: loading the batch, executing the notebooks in warm kernels, exporting HTML, the
manifest and the index. Where the time goes comes from the run itself: the notebook and HTML
seconds of each report's outcome, and the cells' durations that papermill writes into each
executed notebook.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

import nbformat

from pipelines import marts
from pipelines.bench.harness import Measurement, env, generated, measure
from pipelines.quality.gate import validate
from pipelines.reporting import runner


def prepare(snapshot: str) -> None:
    validate(snapshot)
    marts.build(snapshot)


def _cells(folder: Path, names: list[str]) -> dict[str, float]:
    """Each cell's seconds in the kernel summed over the reports, labelled by position and
    first source line."""
    totals: dict[str, float] = defaultdict(float)
    for name in names:
        for i, cell in enumerate(nbformat.read(folder / f"{name}.ipynb", as_version=4).cells):
            duration = cell.metadata.get("papermill", {}).get("duration")
            if cell.cell_type == "code" and duration:
                first = cell.source.splitlines()[0][:40] if cell.source else "(empty)"
                totals[f"cell {i} ({first})"] += duration
    return totals


def run_batch(snapshot: str, batch: str) -> dict:
    jobs = runner.default_jobs()
    start = time.perf_counter()
    result = runner.run(snapshot, batch=batch, force=True, jobs=jobs)
    seconds = time.perf_counter() - start
    if not result.ok:
        failed = [o.report.name for o in result.outcomes if o.status != "ok"]
        raise RuntimeError(f"batch {batch!r}: reports failed: {', '.join(failed)}")
    cells = _cells(result.folder, [o.report.name for o in result.outcomes])
    return {
        "seconds": seconds,
        "jobs": jobs,
        "reports": len(result.outcomes),
        "notebook_s": sum(o.seconds for o in result.outcomes),
        "cells_s": sum(cells.values()),
        "html_s": sum(o.html_seconds for o in result.outcomes),
        "slowest_cells": sorted(cells.items(), key=lambda kv: -kv[1])[:3],
    }


def part(scale: float, data: Path) -> list[Measurement]:
    """The default batch and 100 merchant profiles through the runner, on a prepared snapshot."""
    environment = env(data) | {"CARD_INSIGHTS_REPORTS": str(data / "reports")}
    snap = f"bench-reports-s{scale:g}"
    gen = generated(snap, scale, environment)
    os.environ.update(environment)
    prepare(snap)
    out = [gen]
    batches = {"default batch (monthly)": "monthly", "100 merchant profiles (outlets100)": "outlets100"}
    for label, batch in batches.items():
        m = measure(label, "reports", "run_batch", environment, snapshot=snap, batch=batch)
        d = m.detail
        cells = ", ".join(f"{label} {seconds:.0f} s" for label, seconds in d["slowest_cells"])
        d["rows"] = gen.detail["rows"]
        m.name += f", {d['jobs']} jobs"
        d["note"] = (
            f"{d['reports']} reports, {m.seconds / d['reports']:.2f} s each; summed over the reports: notebooks "
            f"{d['notebook_s']:.0f} s, of which their cells in the kernel {d['cells_s']:.0f} s (the floor of "
            f"a run that executes notebooks), HTML {d['html_s']:.1f} s; slowest cells: {cells}"
        )
        out.append(m)
    return out
