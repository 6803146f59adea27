"""Audience counts as they leave the operator: differentially private, like merchant figures.

An audience's criteria are parameters, so exact counts with small ones suppressed would let a
reader subtract large audiences from each other until one member is left (ages 0-119 minus
0-55 minus 57-119 is the 56-year-olds; then search their spend). So each distinct audience is
a privacy release (pipelines/privacy/release.py): its total and its members by segment get
noise of audience_sigma, charged once to the yearly budget and kept, so asking again shows the
same figures at no cost, and a count under K_MIN after the noise is not shown. The exact
member list goes only to the operator's campaign system (`python -m pipelines audience`).
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import polars as pl

from pipelines import privacy
from pipelines.core import catalog
from pipelines.core.snapshot import Snapshot
from pipelines.privacy.accounting import load_privacy
from pipelines.privacy.release import Release, keep, open_release
from pipelines.segments.analysis import Segmentation, open_segmentation
from pipelines.segments.audience import Audience


def audience_key(seg: Segmentation, criteria: Audience) -> str:
    """Everything that decides who is in the audience, as one string."""
    what = criteria.params() | {"window_months": seg.config.window_months, "rf_map": seg.config.rf_map.to_dicts()}
    return json.dumps(what, sort_keys=True)


def published_audience(
    seg: Segmentation, snap: Snapshot, criteria: Audience, new: bool = False
) -> tuple[int, pl.DataFrame, Release]:
    """How many members match (noisy) and by segment (noisy, under K_MIN left empty), and the
    release they are published under. `new`: a new revision with fresh noise, charged."""
    config = load_privacy()
    release = open_release(
        snap.manifest_sha256,
        "audience",
        [(audience_key(seg, criteria), f"{seg.as_of:%Y-%m}")],
        {"snapshot": snap.id, "audience": criteria.describe(), "as_of": str(seg.as_of)},
        config.rho_per_audience(),
        new,
    )

    def noisy() -> dict[str, pl.DataFrame]:
        exact = seg.audience_by_segment(criteria)
        counts = [release.noisy_count(n, "audience", s) for s, n in exact.iter_rows()]
        total = release.noisy_count(int(exact["members"].sum()), "audience", "total")
        segments = exact.with_columns(pl.Series("members", counts, dtype=pl.Int64))
        return {"segments": segments, "total": pl.DataFrame({"members": [total]})}

    figures = keep(release, noisy)
    shown = privacy.suppress(figures["segments"], count="members", figures=["members"], noisy=True)
    return int(figures["total"]["members"][0]), shown.drop("suppressed"), release


def batch_audiences(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, batch: str, reports: list[dict[str, Any]], new: bool = False
) -> None:
    """Open the audience releases of a batch's segment reports before any runs (a release over
    the budget stops the batch there); the reports then find them kept."""
    for params in reports:
        seg = open_segmentation(
            catalog.cursor(con), snap, params["as_of"], params["window_months"], params["segment_map"]
        )
        published_audience(seg, snap, Audience.from_params(params), new)
