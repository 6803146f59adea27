"""`make bench`: measured throughput and peak memory, appended to benchmarks/RESULTS.md.

Each measurement runs in a fresh Python process so that its peak resident memory is its own
(read from the kernel's rusage of the child) and no cache from an earlier step helps it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

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


def measure(name: str, code: str, env: dict[str, str] | None = None) -> Measurement:
    """Run `code` in a child Python; it prints one JSON object with 'seconds' and details.

    Peak memory is the largest sum of resident memory over the child and its own workers,
    sampled every 20 ms, so multi-process steps are not under-reported.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
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
    from pipelines import catalog

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
    names = ("duckdb", "polars", "numpy", "great-expectations", "papermill")
    return ", ".join(f"{n} {version(n)}" for n in names) + f", Python {platform.python_version()}"


_GENERATE = """
    import json, time
    from pipelines.generator import generate
    t = time.perf_counter()
    m = generate({snapshot!r}, scale={scale}, seed=42)
    rows = sum(t["rows"] for t in m["tables"].values())
    print(json.dumps({{"seconds": time.perf_counter() - t, "rows": rows,
                      "largest": max(t["rows"] for t in m["tables"].values()),
                      "tables": {{name: t["rows"] for name, t in m["tables"].items()}}}}))
"""

_SCAN = """
    import json, time
    from pipelines import catalog
    con = catalog.connect({snapshot!r})
    t = time.perf_counter()
    n, fares, km = con.execute("SELECT count(*), sum(fare)::BIGINT, sum(distance_km) FROM trips").fetchone()
    print(json.dumps({{"seconds": time.perf_counter() - t, "rows": n}}))
"""


def generated(snap: str, scale: float, env: dict[str, str]) -> Measurement:
    """Generate a benchmark snapshot, measuring the generator on the way."""
    gen = measure(f"generate scale {scale:g}", _GENERATE.format(snapshot=snap, scale=scale), env)
    gen.detail["rows_per_s"] = gen.detail["rows"] / gen.seconds
    return gen


def generation_and_scan(scale: float, data: Path) -> list[Measurement]:
    env = _env(data)
    snap = f"bench-s{scale:g}"
    gen = generated(snap, scale, env)
    scan = measure(f"scan trips scale {scale:g}", _SCAN.format(snapshot=snap), env)
    scan.detail["rows_per_s"] = scan.detail["rows"] / scan.seconds
    return [gen, scan]


_VALIDATE = """
    import json, time
    from pipelines.quality.gate import validate
    t = time.perf_counter()
    verdict = validate({snapshot!r})
    print(json.dumps({{"seconds": time.perf_counter() - t, "passed": verdict.success}}))
"""

_FLOOR = """
    import json
    from pipelines.bench_gate import run_floor
    from pipelines.snapshot import read_manifest
    m = read_manifest({snapshot!r})
    r = run_floor({snapshot!r}, (m["period"]["start"], m["period"]["end"]), "2100-01-01 00:00:00")
    print(json.dumps(r))
"""


# The memory goals of the gate (2 GB), the carbon marts (2 GB) and the merchant marts (4 GB)
# are for DuckDB limited below them (it spills past its limit); those parts give every DuckDB
# step, floors included, that limit and say so in the step's note. Other parts use the default.
DUCKDB_MEMORY = {"gate": "1GB", "carbon": "1GB", "merchants": "3GB"}


def _env(data: Path, part: str = "") -> dict[str, str]:
    env = {"CARD_INSIGHTS_DATA": str(data)}
    if part in DUCKDB_MEMORY:
        env["CARD_INSIGHTS_DUCKDB_MEMORY"] = DUCKDB_MEMORY[part]
    return env


def _note_limit(part: str, *steps: Measurement) -> None:
    for m in steps:
        note = m.detail.get("note")
        m.detail["note"] = f"{note + '; ' if note else ''}DuckDB memory limit {DUCKDB_MEMORY[part]}"


def gate_and_floor(scale: float, data: Path) -> list[Measurement]:
    """The whole gate next to the hand-written DuckDB floor, on one snapshot."""
    env = _env(data, "gate")
    snap = f"bench-gate-s{scale:g}"
    gen = generated(snap, scale, env)
    gate = measure(f"gate (validate) scale {scale:g}", _VALIDATE.format(snapshot=snap), env)
    floor = measure(f"floor (plain DuckDB checks) scale {scale:g}", _FLOOR.format(snapshot=snap), env)
    for m in (gate, floor):
        m.detail["rows"] = gen.detail["rows"]
        m.detail["largest"] = gen.detail["largest"]
    gate.detail["note"] = (
        f"{gate.seconds / floor.seconds:.2f}x the floor; largest table {gen.detail['largest']:,} rows; "
        f"verdict {'passed' if gate.detail['passed'] else 'FAILED'}; floor problems {floor.detail['problems']}"
    )
    _note_limit("gate", gate, floor)
    return [gen, gate, floor]


_SEGMENT_STEP = """
    import json
    from pathlib import Path
    from pipelines import bench_segments as b
    from pipelines.segments import month_ends
    from pipelines.snapshot import read_manifest
    ends = [d.isoformat() for d in month_ends({snapshot!r})]
    declared = read_manifest({snapshot!r})["period"]
    period = (declared["start"], declared["end"])
    events = Path({events!r})
    result = {call}
    print(json.dumps(result if isinstance(result, dict) else {{"seconds": result}}))
"""


def segments_vs_alternatives(scale: float, data: Path) -> list[Measurement]:
    """RFM + segment + migration marts next to pandas, Polars and the bare DuckDB floor."""
    from pipelines.bench_segments import prepare

    env = _env(data)
    snap = f"bench-seg-s{scale:g}"
    gen = generated(snap, scale, env)
    events = data / "spend_events.parquet"
    os.environ["CARD_INSIGHTS_DATA"] = str(data)
    rows = prepare(snap, events)
    calls = {
        "floor: DuckDB GROUP BY member (count, sum, max)": "b.floor(events)",
        "grain: GROUP BY member per scene and month (count only)": "b.grain(events, period)",
        "segment marts (member_month + rfm + migration)": "b.marts(events, period)",
        "polars (same computation)": "b.polars_version(events, ends)",
        "pandas (same computation)": "b.pandas_version(events, ends)",
    }
    out = [gen]
    for label, call in calls.items():
        m = measure(label, _SEGMENT_STEP.format(snapshot=snap, events=str(events), call=call), env)
        m.detail["rows"] = rows
        out.append(m)
    floor_s = out[1].seconds
    for m in out[2:]:
        parts = "".join(f"; {k} {v:.2f} s = {v / floor_s:.2f}x" for k, v in m.detail.pop("parts", {}).items())
        m.detail["note"] = f"{m.seconds / floor_s:.2f}x the floor; {rows:,} spend events{parts}"
    return out


_FUNCTION = """
    import json
    from pipelines import {module} as b
    print(json.dumps(b.{function}({snapshot!r})))
"""


def _functions_vs_floor(
    snap: str, gen: Measurement, module: str, table: str, steps: dict[str, str], env: dict[str, str]
) -> list[Measurement]:
    """Run `module`'s functions, the floor first, each in its own process; notes compare to the floor."""
    rows = gen.detail["tables"][table]
    out = [gen]
    for label, function in steps.items():
        m = measure(label, _FUNCTION.format(module=module, function=function, snapshot=snap), env)
        m.detail["rows"] = rows
        out.append(m)
    for m in out[2:]:
        m.detail["note"] = f"{m.seconds / out[1].seconds:.2f}x the floor; {rows:,} {table}"
    return out


def carbon_vs_floor(scale: float, data: Path) -> list[Measurement]:
    """The commute carbon marts for all employers next to trips joined to staff cards."""
    env = _env(data, "carbon")
    snap = f"bench-carbon-s{scale:g}"
    steps = {
        "floor: trips x staff cards, km by employer, month, mode": "floor",
        "grain: staff trips fetched and sorted by card and time": "grain",
        "carbon marts (commutes, per employer and month, kg CO2e)": "mart",
    }
    out = _functions_vs_floor(snap, generated(snap, scale, env), "bench_carbon", "trips", steps, env)
    _note_limit("carbon", *out[1:])
    return out


def merchants_vs_floor(scale: float, data: Path) -> list[Measurement]:
    """The merchant marts for all merchants next to DuckDB's bare GROUP BY merchant and Polars."""
    from pipelines import bench_merchants

    env = _env(data, "merchants")
    snap = f"bench-merchants-s{scale:g}"
    gen = generated(snap, scale, env)
    os.environ["CARD_INSIGHTS_DATA"] = str(data)
    bench_merchants.prepare(snap)
    steps = {
        "floor: DuckDB GROUP BY merchant (count, sum, count distinct payers)": "floor",
        "grain: the same per outlet and month, and per outlet, month and hour of week": "grain",
        "polars: the same headline": "polars_headline",
        "merchant marts (visits, headline, all distribution cells)": "mart",
    }
    out = _functions_vs_floor(snap, gen, "bench_merchants", "purchases", steps, env)
    _note_limit("merchants", out[1], out[2], out[4])
    return out


def report_runs(scale: float, data: Path) -> list[Measurement]:
    """The default batch and 100 merchant profiles through the runner, on a prepared snapshot."""
    from pipelines import bench_reports

    env = _env(data) | {"CARD_INSIGHTS_REPORTS": str(data / "reports")}
    snap = f"bench-reports-s{scale:g}"
    gen = generated(snap, scale, env)
    os.environ.update(env)
    bench_reports.prepare(snap)
    out = [gen]
    steps = {
        f"default batch (monthly), {bench_reports.JOBS} jobs": "monthly",
        f"100 merchant profiles (busiest), {bench_reports.JOBS} jobs": "busiest",
    }
    for label, function in steps.items():
        m = measure(label, _FUNCTION.format(module="bench_reports", function=function, snapshot=snap), env)
        d = m.detail
        cells = ", ".join(f"{label} {seconds:.0f} s" for label, seconds in d["slowest_cells"])
        d["rows"] = gen.detail["rows"]
        d["note"] = (
            f"{d['reports']} reports, {m.seconds / d['reports']:.2f} s each; summed over the reports: notebooks "
            f"{d['notebook_s']:.0f} s, HTML {d['html_s']:.1f} s; slowest cells: {cells}"
        )
        out.append(m)
    return out


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
    log: Callable[[str], None] = print,
) -> list[Measurement]:
    measurements: list[Measurement] = []
    parts: list[str] = []
    plan = [
        *((scale, "generation and scan", generation_and_scan) for scale in scales),
        (gate_scale, "the gate next to its floor", gate_and_floor),
        (segments_scale, "segment marts against pandas, Polars and the floor", segments_vs_alternatives),
        (carbon_scale, "commute carbon marts against their floor", carbon_vs_floor),
        (merchants_scale, "merchant marts against their floor and Polars", merchants_vs_floor),
        (reports_scale, "report runs: the default batch and 100 merchant profiles", report_runs),
    ]
    with tempfile.TemporaryDirectory(prefix="card-insights-bench-") as tmp:
        for scale, what, part in plan:
            if not scale:  # a scale of 0 skips the part
                continue
            parts.append(f"{what} at scale {scale:g}")
            log(f"benchmark: {parts[-1]} ...")
            measurements += part(scale, Path(tmp))
            for folder in ("snapshots", "marts", "reports"):
                shutil.rmtree(Path(tmp) / folder, ignore_errors=True)
    header = [
        f"## {dt.date.today().isoformat()}: {', '.join(parts)}",
        "",
        f"Machine: {machine()}  ",
        f"Versions: {versions()}",
        "",
        "DuckDB memory limit: "
        f"{os.environ.get('CARD_INSIGHTS_DUCKDB_MEMORY', '60 % of RAM (default)')} unless a step's note gives one",
        "",
        "| step | rows | seconds | million rows/s | peak MB | note |",
        "|---|---|---|---|---|---|",
    ]
    text = "\n".join([*header, *map(_row, measurements)]) + "\n\n"
    results.parent.mkdir(parents=True, exist_ok=True)
    with open(results, "a") as f:
        f.write(text)
    log(text)
    return measurements
