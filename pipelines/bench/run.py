"""`make bench`: the plan of benchmark parts, each at its own scale (0 skips it), appended to
benchmarks/RESULTS.md with the machine, the versions and the date."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from pipelines.bench import (
    campaigns,
    carbon,
    gate,
    generation,
    merchants,
    monthly,
    operator,
    population,
    privacy,
    reports,
    segments,
    spark,
)
from pipelines.bench.harness import Measurement, machine, versions


def _row(m: Measurement) -> str:
    rows = m.detail.get("rows")
    rate = m.detail.get("rows_per_s")
    rate_text = "" if rate is None else f"{rate / 1e6:.2f}"
    return f"| {m.name} | {rows:,} | {m.seconds:.2f} | {rate_text} | {m.peak_mb:,.0f} | {m.detail.get('note', '')} |"


def run_benchmarks(
    scales: list[float],
    gate_scale: float,
    results: Path,
    segments_scale: float = 0,
    carbon_scale: float = 0,
    merchants_scale: float = 0,
    reports_scale: float = 0,
    privacy_scale: float = 0,
    population_scale: float = 0,
    campaigns_scale: float = 0,
    monthly_scale: float = 0,
    spark_scale: float = 0,
    operator_scale: float = 0,
    log: Callable[[str], None] = print,
) -> list[Measurement]:
    measurements: list[Measurement] = []
    parts: list[str] = []
    plan = [
        *((scale, "generation and scan", generation.part) for scale in scales),
        (gate_scale, "the gate next to its floor", gate.part),
        (segments_scale, "segment marts against pandas, Polars and the floor", segments.part),
        (carbon_scale, "commute carbon marts against their floor", carbon.part),
        (merchants_scale, "merchant marts against their floor and Polars", merchants.part),
        (reports_scale, "report runs: the default batch and 100 merchant profiles", reports.part),
        (privacy_scale, "merchant releases: noisy against exact figures", privacy.part),
        (population_scale, "per-member behaviour at scale 1 and", population.part),
        (campaigns_scale, "campaign marts against their floor and Polars", campaigns.part),
        (monthly_scale, "a monthly update against the whole history and the new month alone", monthly.part),
        (spark_scale, "the marts on Spark in local mode next to DuckDB", spark.part),
        (operator_scale, "the operator's size: a full cycle and a monthly update", operator.part),
    ]
    stopped = ""
    try:
        with tempfile.TemporaryDirectory(prefix="card-insights-bench-") as tmp:
            for scale, what, part in plan:
                if not scale:  # a scale of 0 skips the part
                    continue
                parts.append(f"{what} at scale {scale:g}")
                log(f"benchmark: {parts[-1]} ...")
                # A part may yield its rows as it goes: those measured before a failure are kept.
                for m in part(scale, Path(tmp)):
                    measurements.append(m)
                for folder in ("snapshots", "marts", "reports", "privacy", "extracts", "validation", "ground_truth"):
                    shutil.rmtree(Path(tmp) / folder, ignore_errors=True)
    except BaseException as exc:
        # Hours of measurements are worth keeping: write them, say where the run stopped, go on failing.
        stopped = f"Stopped in {parts[-1] if parts else 'setup'}: {type(exc).__name__}: {exc}".strip()
        _write(results, parts, measurements, stopped, log)
        raise
    _write(results, parts, measurements, stopped, log)
    return measurements


def _write(
    results: Path, parts: list[str], measurements: list[Measurement], stopped: str, log: Callable[[str], None]
) -> None:
    """Append the run's table (and, if it stopped early, why) to the results file."""
    if not measurements:
        return
    header = [
        f"## {dt.date.today().isoformat()}: {', '.join(parts)}",
        "",
        f"Machine: {machine()}  ",
        f"Versions: {versions()}",
        "",
        "DuckDB memory limit: "
        f"{os.environ.get('CARD_INSIGHTS_DUCKDB_MEMORY', '50 % of RAM (default)')} unless a step's note gives one",
        "",
        "| step | rows | seconds | million rows/s | peak MB | note |",
        "|---|---|---|---|---|---|",
    ]
    footer = ["", f"**{stopped}**"] if stopped else []
    text = "\n".join([*header, *map(_row, measurements), *footer]) + "\n\n"
    results.parent.mkdir(parents=True, exist_ok=True)
    with open(results, "a") as f:
        f.write(text)
    log(text)
