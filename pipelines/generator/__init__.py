"""Synthetic card-data snapshots, generated month by month so memory stays bounded.

All data made here is SYNTHETIC: no real member, card, merchant or employer is described.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import polars as pl

from pipelines.generator.params import GENERATOR_VERSION, GeneratorParams
from pipelines.generator.population import build
from pipelines.generator.spending import month_spending
from pipelines.generator.transit import month_trips
from pipelines.schema import EVENT_TABLES, table
from pipelines.snapshot import new_snapshot

_EPOCH = dt.date(1970, 1, 1)


def _params_json(params: GeneratorParams) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in dataclasses.asdict(params).items()}


def generate(
    snapshot: str,
    scale: float = 1.0,
    seed: int = 42,
    params: GeneratorParams | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict:
    """Write snapshot `snapshot`; returns its manifest. Same seed and scale, same contents."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    params = params or GeneratorParams()
    made_by = {
        "synthetic": True,
        "tool": "card-insights synthetic generator (SYNTHETIC DATA: no real person or business)",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "scale": scale,
        "params": _params_json(params),
    }
    period = (params.start.isoformat(), params.end.isoformat())
    with new_snapshot(snapshot, made_by, period) as out:
        pop = build(params, scale, seed)
        for name in ("districts", "stations", "members", "employers", "cards", "merchants"):
            out.write(name, getattr(pop, name))
        for name, frame in pop.ground_truth.items():
            out.write_ground_truth(name, frame)
        next_id = dict.fromkeys(EVENT_TABLES, 1)
        for month in params.month_starts():
            lo = (month - _EPOCH).days
            y, m = divmod(month.month, 12)
            hi = (dt.date(month.year + y, m + 1, 1) - _EPOCH).days
            frames = {"trips": month_trips(pop, seed, lo, hi)} | month_spending(pop, seed, lo, hi)
            for name, frame in frames.items():
                key = table(name).primary_key
                frame = frame.with_columns(
                    pl.int_range(next_id[name], next_id[name] + frame.height, dtype=pl.Int64).alias(key)
                )
                next_id[name] += frame.height
                out.write(name, frame, part=month.strftime("%Y-%m"))
                if progress:
                    progress(f"{name} {month:%Y-%m}", frame.height)
        return out.manifest(made_by, period)
