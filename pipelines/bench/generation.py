"""The generator and a plain scan of the trips, for `make bench`."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from pipelines.bench.harness import Measurement, env, generated, measure


def generate(
    snapshot: str, scale: float, months: int | None = None, first: str | None = None, horizon: int | None = None
) -> dict:
    """Generate at `scale` (over `months` months from the month `first`, YYYY-MM-DD, the members
    drawn over `horizon` months; None: the default half year)."""
    from pipelines.ingest.generator import generate as run_generate
    from pipelines.ingest.generator.params import GeneratorParams

    start = time.perf_counter()
    params = (
        GeneratorParams(start=dt.date.fromisoformat(first), months=months, horizon=horizon)
        if months and first
        else None
    )
    manifest = run_generate(snapshot, scale=scale, seed=42, params=params)
    tables = {name: t["rows"] for name, t in manifest["tables"].items()}
    return {
        "seconds": time.perf_counter() - start,
        "rows": sum(tables.values()),
        "largest": max(tables.values()),
        "tables": tables,
    }


def scan(snapshot: str) -> dict:
    from pipelines.core import catalog

    with catalog.connect(snapshot) as con:
        start = time.perf_counter()
        n = con.execute("SELECT count(*), sum(fare)::BIGINT, sum(distance_km) FROM trips").fetchone()[0]
        return {"seconds": time.perf_counter() - start, "rows": n}


def part(scale: float, data: Path) -> list[Measurement]:
    environment = env(data)
    snap = f"bench-s{scale:g}"
    gen = generated(snap, scale, environment)
    m = measure(f"scan trips scale {scale:g}", "generation", "scan", environment, snapshot=snap)
    m.detail["rows_per_s"] = m.detail["rows"] / m.seconds
    return [gen, m]
