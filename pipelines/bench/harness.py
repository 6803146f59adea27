"""Measuring one benchmark step: seconds and peak memory, in a fresh Python process so that
its peak resident memory is its own and no cache from an earlier step helps it."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil


@dataclass
class Measurement:
    name: str
    seconds: float
    peak_mb: float
    detail: dict


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def measure(name: str, module: str, function: str, env: dict[str, str] | None = None, **kwargs: Any) -> Measurement:
    """Run pipelines.bench.MODULE.FUNCTION(**kwargs) in a child Python; it returns a dict with
    'seconds' and details.

    Peak memory is the largest sum of resident memory over the child and its own workers,
    sampled every 20 ms, so multi-process steps are not under-reported.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.bench.step", module, function, json.dumps(kwargs)],
        stdout=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        text=True,
    )
    watched, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(watched))
        time.sleep(0.02)
    stdout = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark step {name!r} failed with exit code {proc.returncode}")
    detail = json.loads(stdout.strip().splitlines()[-1])
    return Measurement(name, detail.pop("seconds"), peak / 2**20, detail)


def timed_query(snapshot: str, query: str) -> dict:
    """Seconds to run `query` on the snapshot's catalog and fetch every row as Arrow: a floor's measure."""
    from pipelines.core import catalog

    with catalog.connect(snapshot) as con:
        start = time.perf_counter()
        groups = con.sql(query).to_arrow_table().num_rows
        return {"seconds": time.perf_counter() - start, "groups": groups}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {ram:.0f} GiB RAM, {platform.system()} {platform.release()}"


def versions() -> str:
    names = ("duckdb", "polars", "numpy", "great-expectations", "papermill", "pyspark", "sqlglot")
    return ", ".join(f"{n} {version(n)}" for n in names) + f", Python {platform.python_version()}"


# The memory goals of the gate (2 GB), the carbon marts (2 GB), the merchant and the campaign
# marts (4 GB each) are for DuckDB limited below them (it spills past its limit); those parts
# give every DuckDB step, floors included, that limit and say so in the step's note. Other
# parts use the default.
DUCKDB_MEMORY = {"gate": "1GB", "carbon": "1GB", "merchants": "3GB", "campaigns": "3GB"}


def env(data: Path, part: str = "") -> dict[str, str]:
    """The environment of a part's child processes: its data folder and memory limit."""
    out = {"CARD_INSIGHTS_DATA": str(data)}
    if part in DUCKDB_MEMORY:
        out["CARD_INSIGHTS_DUCKDB_MEMORY"] = DUCKDB_MEMORY[part]
    return out


def note_limit(part: str, *steps: Measurement) -> None:
    for m in steps:
        note = m.detail.get("note")
        m.detail["note"] = f"{note + '; ' if note else ''}DuckDB memory limit {DUCKDB_MEMORY[part]}"


def generated(
    snapshot: str,
    scale: float,
    environment: dict[str, str],
    months: int | None = None,
    first: str | None = None,
    horizon: int | None = None,
) -> Measurement:
    """Generate a benchmark snapshot (over `months` months from the month `first`, the members
    drawn over `horizon` months; None: the default half year), measuring the generator."""
    label = f"generate scale {scale:g}" + (
        f", {months} month{'s' * (months > 1)} from {first[:7]}" if months and first else ""
    )
    label += f" (members drawn over {horizon})" if horizon else ""
    gen = measure(
        label,
        "generation",
        "generate",
        environment,
        snapshot=snapshot,
        scale=scale,
        months=months,
        first=first,
        horizon=horizon,
    )
    gen.detail["rows_per_s"] = gen.detail["rows"] / gen.seconds
    return gen


def versus_floor(
    gen: Measurement, module: str, table: str, steps: dict[str, str], environment: dict[str, str], **kwargs: Any
) -> list[Measurement]:
    """Run `module`'s functions, the floor first, each in its own process; notes compare to the floor."""
    rows = gen.detail["tables"][table]
    out = [gen]
    for label, function in steps.items():
        m = measure(label, module, function, environment, **kwargs)
        m.detail["rows"] = rows
        out.append(m)
    for m in out[2:]:
        ratio = f"{m.seconds / out[1].seconds:.2f}x the floor; {rows:,} {table}"
        m.detail["note"] = "; ".join(filter(None, [ratio, m.detail.get("note")]))
    return out
