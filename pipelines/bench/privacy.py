"""What differential privacy costs in accuracy, for `make bench`: the figures a release
publishes against the exact marts, by size band of the units, for three releases of the same
month side by side: the outlets100 batch (the 100 outlets of the public sample and their
peers, the batch the report benchmark runs), every chain (the units with over 1,000 customers: no outlet of the
synthetic city has that many), and every outlet and chain at once (where the contribution
bound bites hardest, since a member's every shop is in it). The goal: for units with over
1,000 customers, 95 % of the shares shown within 2 percentage points of the exact value."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from pathlib import Path

import polars as pl

from pipelines import marts
from pipelines.bench.harness import Measurement, env, generated, measure
from pipelines.core import catalog
from pipelines.core.snapshot import Snapshot
from pipelines.merchant_profile import FAMILY
from pipelines.merchant_profile.release import compute, release_items
from pipelines.privacy import K_MIN
from pipelines.privacy.accounting import load_privacy
from pipelines.privacy.noise import noise_key
from pipelines.privacy.release import Release

BANDS = ((0, 50, "under 50"), (50, 200, "50-200"), (200, 1000, "200-1,000"), (1000, 10**9, "over 1,000"))
#: Releases of whole levels of the register (the outlets100 batch is worked out from its list).
SCOPES = {
    "every chain": "SELECT unit_id FROM merchant_units WHERE level = 'chain' ORDER BY unit_id",
    "every unit": "SELECT unit_id FROM merchant_units ORDER BY unit_id",
}


def _items(con, snap: Snapshot, scope: str) -> list[tuple[str, str]]:
    month = f"{snap.whole_months()[-1]}"
    if scope in SCOPES:
        units = catalog.frame(con, SCOPES[scope])["unit_id"].to_list()
        return [(u, month) for u in units]
    outlets = FAMILY.lists["@outlet_sample"](con)
    return release_items(con, snap, [{"merchant": o, "period": month, "peer_scope": "auto"} for o in outlets])


def _shares(cells: pl.DataFrame) -> pl.DataFrame:
    """Each cell's share of its dimension's cells, in percent (as the profile works it out)."""
    return cells.with_columns(
        (100 * pl.col("customers") / pl.col("customers").sum().over("unit_id", "dimension")).alias("share")
    )


def accuracy(snapshot: str, scope: str) -> dict:
    """Noisy against exact, by size band, for one release over `scope` (a batch or every unit)."""
    snap = Snapshot.open(snapshot)
    config = load_privacy()
    with marts.connect(snap) as con:
        items = _items(con, snap, scope)
        month = dt.date.fromisoformat(items[0][1] + "-01")
        start = time.perf_counter()
        noisy = compute(con, Release(f"bench {scope}", config, noise_key()), items)
        seconds = time.perf_counter() - start
        bounded = compute(con, Release("bounded", dataclasses.replace(config, sigma=1e-7), b"bench"), items)
        units = [u for u, _ in items]
        exact_heads = catalog.frame(
            con,
            "SELECT unit_id, customers FROM merchant_month WHERE month = ? AND list_contains(?, unit_id)",
            [month, units],
        )
        exact_cells = catalog.frame(
            con,
            "SELECT unit_id, dimension, value, customers FROM merchant_cells "
            "WHERE month = ? AND list_contains(?, unit_id)",
            [month, units],
        )
    heads = (
        noisy.heads.select("unit_id", pl.col("customers").alias("noisy"))
        .join(bounded.heads.select("unit_id", pl.col("customers").alias("bounded")), on="unit_id")
        .join(exact_heads.rename({"customers": "exact"}), on="unit_id", how="left")
        .with_columns(pl.col("exact").fill_null(0))
    )
    cells = (
        _shares(noisy.cells.drop("month"))
        .rename({"customers": "noisy", "share": "noisy_share"})
        .join(
            _shares(exact_cells).rename({"customers": "exact", "share": "exact_share"}),
            on=["unit_id", "dimension", "value"],
            how="left",
        )
        .join(
            heads.select("unit_id", pl.col("noisy").alias("unit_noisy"), pl.col("exact").alias("unit_exact")),
            on="unit_id",
        )
        .with_columns(pl.col("exact").fill_null(0), pl.col("exact_share").fill_null(0.0))
        .with_columns(
            shown=(pl.col("noisy") >= K_MIN) & (pl.col("unit_noisy") >= K_MIN),
            share_error=(pl.col("noisy_share") - pl.col("exact_share")).abs(),
        )
    )
    out: dict = {"seconds": seconds, "units": len(items), "month": f"{month:%Y-%m}", "bands": {}}
    for lo, hi, label in BANDS:
        band_heads = heads.filter(pl.col("exact").is_between(lo, hi, closed="left"))
        if band_heads.height == 0:
            continue
        band = cells.filter(pl.col("unit_exact").is_between(lo, hi, closed="left"))
        occupied = band.filter(pl.col("exact") >= K_MIN)
        errors = band.filter("shown")["share_error"]
        out["bands"][label] = {
            "units": band_heads.height,
            "median_customer_error": float((band_heads["noisy"] - band_heads["exact"]).abs().median()),
            "customers_kept": float((band_heads["bounded"] / band_heads["exact"]).median()),
            "median_share_error_pp": float(errors.median()) if errors.len() else None,
            "cells_shown": float(occupied["shown"].mean()) if occupied.height else None,
            "shares_within_2pp": float((errors <= 2).mean()) if errors.len() else None,
        }
    out["rho_per_release"] = config.rho_per_release()
    out["epsilon_per_release"] = config.epsilon(out["rho_per_release"])
    out["yearly_rho"], out["yearly_epsilon"] = config.yearly_rho, config.epsilon(config.yearly_rho)
    return out


def _note(d: dict) -> str:
    def band(label: str, b: dict) -> str:
        parts = [
            f"{label}: {b['units']} units",
            f"customers off by {b['median_customer_error']:.0f} (median; the bound keeps {b['customers_kept']:.0%})",
        ]
        if b["median_share_error_pp"] is not None:
            parts.append(f"shares off by {b['median_share_error_pp']:.2f} pp (median)")
        if b["cells_shown"] is not None:
            parts.append(f"{b['cells_shown']:.0%} of cells of {K_MIN}+ customers shown")
        if b["shares_within_2pp"] is not None:
            parts.append(f"{b['shares_within_2pp']:.1%} of shown shares within 2 pp")
        return ", ".join(parts)

    over = d["bands"].get("over 1,000", {}).get("shares_within_2pp")
    goal = (
        ""
        if over is None
        else f" Goal (95 % within 2 pp over 1,000 customers): {'met' if over >= 0.95 else 'NOT met'}."
    )
    return (
        f"{d['units']} units, {d['month']}; rho {d['rho_per_release']:.3f} a release (epsilon "
        f"{d['epsilon_per_release']:.2f} at delta 1e-9); yearly budget rho {d['yearly_rho']} (epsilon "
        f"{d['yearly_epsilon']:.1f}). " + "; ".join(band(label, b) for label, b in d["bands"].items()) + "." + goal
    )


def part(scale: float, data: Path) -> list[Measurement]:
    """The accuracy cost of a release: the outlets100 batch's, next to one of every chain and of every unit."""
    from pipelines.quality.gate import validate

    environment = env(data)
    snap = f"bench-privacy-s{scale:g}"
    gen = generated(snap, scale, environment)
    os.environ.update(environment)
    validate(snap)
    marts.build(snap)
    out = [gen]
    for scope in ("outlets100 batch", *SCOPES):
        m = measure(
            f"merchant release of the {scope}: noisy vs exact",
            "privacy",
            "accuracy",
            environment,
            snapshot=snap,
            scope=scope,
        )
        m.detail["rows"] = m.detail["units"]
        m.detail["note"] = _note(m.detail)
        out.append(m)
    return out
