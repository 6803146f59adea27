"""Effect estimates of a campaign from its arms' aggregates (pure: no I/O).

The statistics are tea-tasting's (e10v/tea-tasting): Welch's t-test of the difference in
means, CUPED with the metric's own pre-period value as the covariate (Deng et al. 2013),
and the sample-ratio-mismatch test. They run on aggregates (count, means,
variances, covariance per arm), which DuckDB computes for every campaign and segment in one
query, so a hundred campaigns cost a hundred small calls, not a pass over member rows each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import polars as pl
import tea_tasting as tt
from tea_tasting.aggr import Aggregates

METRICS = ("buyers", "transactions", "ntd")
_ESTIMATES = (
    "holdout_mean",
    "treatment_mean",
    "effect",
    "ci_lower",
    "ci_upper",
    "pvalue",
    "plain_ci_lower",
    "plain_ci_upper",
    "mde",
    "balance_pvalue",
)
CONTROL, TREATMENT = "holdout", "treatment"


@dataclass(frozen=True)
class Settings:
    confidence: float = 0.95
    #: Power at which the minimum detectable effect is worked out.
    power: float = 0.8
    #: Below this p-value the arms' sizes do not match the declared holdout share (a warning;
    #: the gate refuses far stronger mismatches).
    srm_alpha: float = 0.001
    #: Days before a campaign whose purchases are CUPED's covariate.
    pre_period_days: int = 28


def aggregates(row: dict) -> Aggregates:
    """tea-tasting's aggregates of one arm from a row of int_campaign_aggregates."""
    return Aggregates(
        count_=int(row["n"]),
        mean_={"y": row["mean_y"], "x": row["mean_x"]},
        var_={"y": row["var_y"], "x": row["var_x"]},
        cov_={("x", "y"): row["cov_xy"]},
    )


def _ci(result: object) -> tuple[float, float]:
    lo, hi = result.effect_size_ci_lower, result.effect_size_ci_upper  # type: ignore[attr-defined]
    return (float(lo), float(hi))


def _nothing(control: Aggregates, treatment: Aggregates) -> dict[str, float]:
    """No estimate: the arms' means where both have members, every other figure empty."""
    nothing = dict.fromkeys(_ESTIMATES, math.nan)
    if control.count() and treatment.count():
        nothing |= {"holdout_mean": float(control.mean("y")), "treatment_mean": float(treatment.mean("y"))}
    return nothing


def estimate(control: Aggregates, treatment: Aggregates, settings: Settings = Settings()) -> dict[str, float]:
    """Treatment minus holdout, with CUPED and without; the minimum detectable effect."""
    n_c, n_t = control.count(), treatment.count()
    out: dict[str, float] = {"holdout_members": n_c, "treatment_members": n_t}
    # An arm of one member, or a metric nobody varies on (no one bought), has no interval.
    if n_c < 2 or n_t < 2 or control.var("y") + treatment.var("y") == 0:
        return out | _nothing(control, treatment)
    # An arm with no variation (nobody in it bought) leaves Welch's degrees of freedom undefined:
    # the interval comes out NaN, stored empty, and numpy's warning about it says nothing more.
    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            cuped = tt.Mean("y", covariate="x", confidence_level=settings.confidence).analyze_aggregates(
                control, treatment
            )
            plain = tt.Mean("y", confidence_level=settings.confidence).analyze_aggregates(control, treatment)
            # The same test on the pre-period: arms drawn at random differ there by chance only.
            before = tt.Mean("x").analyze_aggregates(control, treatment)
    except (ValueError, ArithmeticError):
        # A few members whose figures the covariate explains exactly (the adjusted variance is
        # zero, rounded below it, its square root undefined), or a holdout mean so near zero
        # that the relative interval overflows: too little to estimate anything.
        return out | _nothing(control, treatment)
    lo, hi = _ci(cuped)
    # The achieved sample's minimum detectable effect: (z_{1-alpha/2} + z_power) standard errors,
    # the standard error read back from the CUPED interval.
    z = NormalDist().inv_cdf(0.5 + settings.confidence / 2)
    mde = (z + NormalDist().inv_cdf(settings.power)) * (hi - lo) / (2 * z)
    plo, phi = _ci(plain)
    return out | {
        "holdout_mean": float(control.mean("y")),
        "treatment_mean": float(treatment.mean("y")),
        "effect": float(cuped.effect_size),
        "ci_lower": lo,
        "ci_upper": hi,
        "pvalue": float(cuped.pvalue),
        "plain_ci_lower": plo,
        "plain_ci_upper": phi,
        "mde": mde,
        "balance_pvalue": float(before.pvalue),
    }


def srm_pvalue(holdout: int, treatment: int, holdout_share: float) -> float:
    """p-value of the arms' sizes under the declared holdout share (sample-ratio mismatch)."""
    if holdout == 0 or treatment == 0:
        return 0.0
    test = tt.SampleRatio(ratio=(1 - holdout_share) / holdout_share)
    counts = {CONTROL: Aggregates(count_=holdout), TREATMENT: Aggregates(count_=treatment)}
    result = test.analyze(counts, control=CONTROL, treatment=TREATMENT)
    return float(result.pvalue)


def effects(arm_aggregates: pl.DataFrame, settings: Settings = Settings()) -> pl.DataFrame:
    """Every campaign, segment ('all' and each) and metric's estimate, from int_campaign_aggregates."""
    rows = []
    arms = {(r["campaign_id"], r["segment"], r["metric"], r["arm"]): r for r in arm_aggregates.iter_rows(named=True)}
    empty = Aggregates(count_=0, mean_={"y": 0, "x": 0}, var_={"y": 0, "x": 0}, cov_={("x", "y"): 0})
    for campaign, segment, metric in sorted({k[:3] for k in arms}):
        control = arms.get((campaign, segment, metric, CONTROL))
        treatment = arms.get((campaign, segment, metric, TREATMENT))
        result = estimate(
            aggregates(control) if control else empty, aggregates(treatment) if treatment else empty, settings
        )
        rows.append({"campaign_id": campaign, "segment": segment, "metric": metric, **result})
    schema = {
        "campaign_id": pl.String,
        "segment": pl.String,
        "metric": pl.String,
        "holdout_members": pl.Int64,
        "treatment_members": pl.Int64,
        **dict.fromkeys(_ESTIMATES, pl.Float64),
    }
    # Not estimable (an arm too small, no variation) is stored empty, never as NaN.
    return pl.DataFrame(rows, schema=schema).fill_nan(None).sort("campaign_id", "segment", "metric")
