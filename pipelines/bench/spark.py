"""The marts on Apache Spark in local mode next to DuckDB on the same snapshot, for `make bench`
(#21).

Each engine builds every mart from scratch in its own process; Spark's marts are checked equal
to DuckDB's before anything is written. Spark's event log gives, per mart step, the bytes its
stages shuffled: what a cluster's network and local disks carry, the figure docs/design.md
scales to the operator's size.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import defaultdict
from pathlib import Path

from pipelines import marts
from pipelines.bench.harness import Measurement, env, generated, measure
from pipelines.core.snapshot import Snapshot
from pipelines.quality.gate import validate

SNAPSHOT = "bench-spark"


def build_step(snapshot: str, engine: str, event_log: str = "") -> dict:
    """Every mart from scratch on `engine`; with `event_log`, Spark records its stages there."""
    if event_log:
        from pipelines.spark.session import session

        Path(event_log).mkdir(parents=True, exist_ok=True)
        session(
            {
                "spark.eventLog.enabled": "true",
                "spark.eventLog.dir": Path(event_log).as_uri(),
                # Plain JSON lines, read by shuffled_bytes.
                "spark.eventLog.compress": "false",
                "spark.eventLog.rolling.enabled": "false",
            }
        )
    began = time.perf_counter()
    stamp = marts.build(snapshot, force=True, engine=engine)
    return {"seconds": time.perf_counter() - began, "rows": sum(stamp["marts"].values())}


def shuffled_bytes(event_log: str) -> dict[str, int]:
    """Bytes each mart step's stages wrote to the shuffle, from Spark's event log (the job
    group is the step's name: SparkEngine.write sets it)."""
    group_of_stage: dict[int, str] = {}
    written: dict[int, int] = defaultdict(int)
    for path in (p for p in Path(event_log).rglob("*") if p.is_file()):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            kind = event.get("Event")
            if kind == "SparkListenerJobStart":
                group = (event.get("Properties") or {}).get("spark.jobGroup.id") or "other"
                for stage in event.get("Stage IDs", []):
                    group_of_stage[stage] = group
            elif kind == "SparkListenerStageCompleted":
                info = event["Stage Info"]
                for acc in info.get("Accumulables", []):
                    if acc.get("Name") == "internal.metrics.shuffle.write.bytesWritten":
                        written[info["Stage ID"]] += int(acc.get("Value", 0))
    by_step: dict[str, int] = defaultdict(int)
    for stage, n in written.items():
        by_step[group_of_stage.get(stage, "other")] += n
    return dict(sorted(by_step.items(), key=lambda kv: -kv[1]))


def check_step(snapshot: str, golden: str) -> dict:
    """Spark's marts against DuckDB's (kept in `golden`): same marts, columns, types, rows."""
    marts.check_same(marts.read_folder(marts.marts_dir(snapshot)), marts.read_folder(Path(golden)))
    return {"seconds": 0.0}


def gate_step(snapshot: str) -> dict:
    assert validate(snapshot).success, f"{snapshot} failed the gate"
    snap = Snapshot.open(snapshot)
    return {"seconds": 0.0, "bytes": sum(f["bytes"] for t in snap.manifest["tables"].values() for f in t["files"])}


def part(scale: float, data: Path) -> list[Measurement]:
    """The marts on DuckDB, then on Spark in local mode, on one generated snapshot."""
    environment = env(data)
    gen = generated(SNAPSHOT, scale, environment)
    os.environ.update(environment)
    size = measure("gate (not timed here)", "spark", "gate_step", environment, snapshot=SNAPSHOT).detail["bytes"]
    duck = measure("marts on DuckDB", "spark", "build_step", environment, snapshot=SNAPSHOT, engine="duckdb")
    golden = data / "golden-marts"
    shutil.copytree(marts.marts_dir(SNAPSHOT), golden)
    log = data / "spark-events"
    spark = measure(
        "marts on Spark, local[*]",
        "spark",
        "build_step",
        environment,
        snapshot=SNAPSHOT,
        engine="spark",
        event_log=str(log),
    )
    measure(
        "check: Spark's marts equal DuckDB's", "spark", "check_step", environment, snapshot=SNAPSHOT, golden=str(golden)
    )
    shuffled = shuffled_bytes(str(log))
    largest = ", ".join(f"{step} {n / 2**20:,.0f} MB" for step, n in list(shuffled.items())[:3])
    events = sum(gen.detail["tables"].get(t, 0) for t in ("trips", "purchases", "bill_payments", "transfers"))
    duck.detail["rows"] = spark.detail["rows"] = events
    duck.detail["note"] = f"snapshot {size / 2**20:,.0f} MB of Parquet, {events:,} events"
    spark.detail["note"] = (
        f"{spark.seconds / duck.seconds:.1f}x DuckDB; marts equal DuckDB's (checked); "
        f"shuffled {sum(shuffled.values()) / 2**20:,.0f} MB in all, most by {largest}"
    )
    shutil.rmtree(golden, ignore_errors=True)
    shutil.rmtree(log, ignore_errors=True)
    return [gen, duck, spark]
