"""Synthetic card-data snapshots, generated month by month and block by block.

All data made here is SYNTHETIC: no real member, card, merchant or employer is described.

Each (month, member block) is one unit of work with its own random stream, generated in a
worker process and written as its own Parquet part, so memory per worker is bounded by the
block size whatever the scale, both cores work, and the result does not depend on how many
workers ran. A worker process takes a block's months (all of them, or half at small scales)
as one task, so that it works out the block's regular places (places.py) once for them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from pipelines.core import workers
from pipelines.core.schema import EVENT_TABLES, SCENE_TABLES, TIMEZONE, table
from pipelines.core.snapshot import Snapshot, new_snapshot, write_part
from pipelines.ingest.generator import campaigns
from pipelines.ingest.generator.params import GENERATOR_VERSION, SHAPES, GeneratorParams
from pipelines.ingest.generator.places import repertoire, truth
from pipelines.ingest.generator.population import (
    Population,
    block_count,
    blocks,
    build,
    employee_truth,
    joined_by,
    member_count,
    member_truth,
    registers,
)
from pipelines.ingest.generator.spending import month_spending
from pipelines.ingest.generator.transit import month_trips

_EPOCH = dt.date(1970, 1, 1)
#: Event IDs are unit * ID_STRIDE + row: unique in the snapshot without a second pass.
ID_STRIDE = 1_000_000_000

#: The tables the generator writes month by month: an extension shares the parent's files.
MONTHLY_TABLES = (*EVENT_TABLES, "redemptions")

_POPULATION: Population | None = None
_PLAN: campaigns.Plan | None = None


def _params_json(params: GeneratorParams) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in dataclasses.asdict(params).items()}


def _month_days(month: dt.date) -> tuple[int, int]:
    y, m = divmod(month.month, 12)
    return (month - _EPOCH).days, (dt.date(month.year + y, m + 1, 1) - _EPOCH).days


def _init_worker(params: GeneratorParams, scale: float, seed: int) -> None:
    global _POPULATION, _PLAN
    _POPULATION = build(params, scale, seed)
    _PLAN = campaigns.plan(_POPULATION, seed)


def _unit(
    folder: Path, seed: int, block_index: int, months: list[tuple[int, int, dt.date]], opening: int, period: int
) -> tuple[list[list[tuple[str, dict[str, Any]]]], dict[str, pl.DataFrame]]:
    """Generate and write some months of one block, each (ID base, month index, month start)
    with its own random stream; returns the manifest entries of each month's parts and, with
    the run's `opening` month (its first), what was planted in the block's members who joined in the
    snapshot's `period` months, and in their repertoires."""
    assert _POPULATION is not None and _PLAN is not None
    pop, plan = _POPULATION, _PLAN
    block = blocks(pop)[block_index]
    rep = repertoire(pop, block.members[pop.uses(block.members, "retail")], seed, block_index)
    absent = {SCENE_TABLES[s] for s in SCENE_TABLES if s not in pop.params.scenes}
    done = []
    for unit, month_index, month in months:
        lo, hi = _month_days(month)
        frames = {"trips": month_trips(pop, block, seed, month_index, lo, hi)}
        frames |= month_spending(pop, block, rep, plan, seed, month_index, lo, hi)
        first = unit * ID_STRIDE + 1
        for name, frame in frames.items():
            frame = frame.head(0) if name in absent else frame
            frames[name] = frame.with_columns(
                pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(table(name).primary_key)
            )
        frames["redemptions"] = campaigns.redemptions(plan, frames["purchases"])
        frames["purchases"] = frames["purchases"].drop("_member", "_outlet")
        written = [
            (name, write_part(folder, name, frame, f"{month:%Y-%m}-b{block_index:03d}"))
            for name, frame in frames.items()
        ]
        done.append(written)
    planted = {}
    if months[0][1] == opening:
        planted["members"] = member_truth(pop, block.members[joined_by(pop, period)[block.members]])
        if "retail" in pop.params.scenes:
            planted["repertoires"] = truth(pop, rep)
    return done, planted


def _chunks_per_block(n_blocks: int, months: int) -> int:
    """How many units a block's months are cut into. A unit computes the block's regular
    places once and then its months, so whole blocks are cheapest; below four blocks the
    months are halved so that two workers share the work. A function of the size only, so
    that the data do not depend on the number of workers."""
    return 1 if n_blocks >= 4 else min(2, months)


def generate(
    snapshot: str,
    scale: float = 1.0,
    seed: int = 42,
    params: GeneratorParams | None = None,
    progress: Callable[[str, int], None] | None = None,
    jobs: int | None = None,
    extends: str | None = None,
    today: dt.date | None = None,
) -> dict:
    """Write snapshot `snapshot`; returns its manifest. Same seed and scale, same contents.

    With `extends`, the parent's next month: the parent's event files are shared (hard links),
    the new month's are generated with the parent's seed, scale and parameters, the registers
    are rewritten as they stand at the new month's end. The result equals the same months
    generated whole, which needs the parent's horizon to reach the new month.

    Only months that have ended by `today` (default: today in Asia/Taipei) are generated."""
    parent = Snapshot.open(extends) if extends else None
    if parent is not None:
        scale, seed, params = _next_month(parent)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"--scale must be a positive number (1 = 10,000 members), got {scale}")
    params = params or GeneratorParams()
    _check_ended(params, today or dt.datetime.now(ZoneInfo(TIMEZONE)).date(), parent)
    drawn = params.drawn()
    jobs = jobs or min(2, workers.usable_cores())
    made_by = {
        "synthetic": True,
        "tool": "card-insights synthetic generator (SYNTHETIC DATA: no real person or business)",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "scale": scale,
        "params": _params_json(params),
        **({"extends": parent.id} if parent else {}),
    }
    period = (params.start.isoformat(), params.end.isoformat())
    n_blocks = block_count(member_count(params, scale), params.block_members)
    starts = params.month_starts()
    first = params.months - 1 if parent else 0
    with new_snapshot(snapshot, made_by, period, params.scenes, parent) as out:
        # A unit is a block's new months, or a part of them; every (month, block) keeps its own
        # random stream and its own range of event IDs, whichever run generates it.
        cuts = np.array_split(np.arange(first, len(starts)), _chunks_per_block(n_blocks, len(starts) - first))
        units = [
            (out.tmp, seed, b, [(int(m) * n_blocks + b, int(m), starts[m]) for m in cut], first, params.months)
            for b in range(n_blocks)
            for cut in cuts
        ]
        if parent is not None:
            for name in MONTHLY_TABLES:
                out.share(name, parent)
        with workers.pool(jobs, _init_worker, (drawn, scale, seed)) as submit:
            futures = {i: submit(_unit, *u) for i, u in enumerate(units)}
            # The registers are written here while the workers start up.
            pop = build(drawn, scale, seed)
            registered = registers(pop, params.months)
            for name in ("districts", "stations", "members", "employers", "cards", "merchants"):
                out.write(name, registered.get(name, getattr(pop, name)))
            for name, frame in employee_truth(pop, params.months).items():
                out.write_ground_truth(name, frame)
            plan = campaigns.tables(pop, campaigns.plan(pop, seed), params.months)
            for name in ("campaigns", "campaign_assignments"):
                out.write(name, plan[name])
            out.write_ground_truth("campaign_effects", plan["campaign_effects"])
            del pop, plan, registered
            for i, (*_, b, unit_months, _, _) in enumerate(units):
                # A finished future keeps its result: let it go, or every block's planted
                # truth would stay in this process until the end.
                done, planted = workers.result(futures.pop(i))
                for name, frame in planted.items():
                    out.write_ground_truth(name, frame, part=f"b{b:03d}")
                del planted
                for (_, _, month), parts in zip(unit_months, done, strict=True):
                    for name, part in parts:
                        out.record(name, part)
                    if progress:
                        progress(f"{month:%Y-%m} block {b + 1}/{n_blocks}", sum(p["rows"] for _, p in parts))
        return out.manifest(made_by, period, params.scenes, parent)


def _check_ended(params: GeneratorParams, today: dt.date, parent: Snapshot | None) -> None:
    """Refuse months that have not ended by `today`: their events would lie in the future,
    which the gate refuses, after all the work of drawing them."""
    if params.end < today:
        return
    when = f"today is {today} in {TIMEZONE}"
    if parent is not None:
        raise ValueError(
            f"{parent.id!r} would be extended by {params.end:%Y-%m}, which has not ended ({when}); "
            "extend it once the month is over"
        )
    ended = (today.year - params.start.year) * 12 + today.month - params.start.month
    hint = f"use --months {ended} or fewer" if ended >= 1 else "no month from the start has ended yet"
    raise ValueError(
        f"--months {params.months} from {params.start:%Y-%m} reaches {params.end:%Y-%m}, which has not ended "
        f"({when}), and the gate refuses events in the future: {hint}"
    )


def _next_month(parent: Snapshot) -> tuple[float, int, GeneratorParams]:
    """The scale, seed and parameters that generate the month after `parent`'s; ValueError
    when the generator cannot extend it."""
    made_by = parent.manifest.get("made_by", {})
    if not parent.synthetic or "generator_version" not in made_by:
        raise ValueError(
            f"snapshot {parent.id!r} was not generated: extend an imported snapshot with "
            "`import EXTRACT --extends`, not `generate --extends`"
        )
    if made_by["generator_version"] != GENERATOR_VERSION:
        raise ValueError(
            f"snapshot {parent.id!r} was made by generator {made_by['generator_version']}, this is "
            f"{GENERATOR_VERSION}: its next month would not continue it; generate it again"
        )
    recorded = made_by["params"]
    start = dt.date.fromisoformat(recorded["start"])
    months, horizon = recorded["months"], recorded.get("horizon") or recorded["months"]
    if months >= horizon:
        raise ValueError(
            f"snapshot {parent.id!r} covers every month its members were drawn over ({horizon}): a chain "
            "to extend month by month starts with a snapshot generated with a horizon past its months "
            f"(`generate --months {months} --horizon {months + 6}`, with the same --scale, --seed and "
            "--shape, under a new ID, draws six more months)"
        )
    for shape in SHAPES.values():
        params = dataclasses.replace(shape, start=start, months=months, horizon=recorded.get("horizon"))
        if json.loads(json.dumps(_params_json(params))) == recorded:
            return made_by["scale"], made_by["seed"], dataclasses.replace(params, months=months + 1)
    raise ValueError(f"snapshot {parent.id!r} was generated with parameters of no shape this generator knows")
