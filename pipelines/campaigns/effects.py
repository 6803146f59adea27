"""Effect estimates of campaigns from their arms' aggregates (pure: no I/O).

Treatment minus holdout by Welch's t-test, with CUPED (Deng et al. 2013: the metric's own
pre-period value as the covariate, its coefficient taken over both arms together) and without,
and the sample-ratio-mismatch test. The sample-ratio test is tea-tasting's (e10v/tea-tasting).
The t-tests are tea-tasting's formulas too (`tea_tasting.metrics.Mean.analyze_aggregates` with
a covariate, Welch, Student's t), written over numpy arrays so that every campaign, segment
and metric is one pass: tea-tasting answers one pair of arms per call, 0.6 ms each, most of it
scipy building a frozen distribution, and at 3 tests x 3,600 groups that was more than the
marts' SQL. tests/campaigns/test_effects.py holds these figures equal to tea-tasting's on
thousands of random pairs of arms. They run on aggregates (count, means, variances and
covariance per arm), which DuckDB computes for every campaign and segment in one query.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

# scipy and tea-tasting are imported in the functions that use them: they take about 2.4 s to
# import (tea-tasting brings ibis and scipy.stats), and every command, `--help` included,
# imports this module through the report families.

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
_ARM = ("n", "mean_y", "mean_x", "var_y", "var_x", "cov_xy")
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


@dataclass(frozen=True)
class _Welch:
    effect: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    pvalue: np.ndarray
    se: np.ndarray


def _welch(
    mean_c: np.ndarray,
    var_c: np.ndarray,
    n_c: np.ndarray,
    mean_t: np.ndarray,
    var_t: np.ndarray,
    n_t: np.ndarray,
    q: float,
) -> _Welch:
    """Welch's two-sided test of mean_t - mean_c and its interval at quantile q of Student's t."""
    from scipy import stats

    vc, vt = var_c / n_c, var_t / n_t
    se = np.sqrt(vc + vt)
    df = (vc + vt) ** 2 / (vc**2 / (n_c - 1) + vt**2 / (n_t - 1))
    effect = mean_t - mean_c
    half = stats.t.ppf(q, df) * se
    pvalue = 2 * stats.t.sf(np.abs(effect) / se, df)
    return _Welch(effect, effect - half, effect + half, pvalue, se)


def _arrays(frame: pl.DataFrame, arm: str) -> dict[str, np.ndarray]:
    return {c: frame[f"{c}_{arm}"].fill_null(0).to_numpy().astype(float) for c in _ARM}


def _estimates(c: dict[str, np.ndarray], t: dict[str, np.ndarray], settings: Settings) -> dict[str, np.ndarray]:
    """Every estimate for arrays of holdout arms `c` and treatment arms `t`, pair by pair."""
    from scipy import stats

    n = c["n"] + t["n"]
    # The covariate's coefficient over both arms as one sample (tea-tasting's Aggregates.__add__).
    dx, dy = c["mean_x"] - t["mean_x"], c["mean_y"] - t["mean_y"]
    between = c["n"] * t["n"] / n
    var_x = ((c["n"] - 1) * c["var_x"] + (t["n"] - 1) * t["var_x"] + dx * dx * between) / (n - 1)
    cov = ((c["n"] - 1) * c["cov_xy"] + (t["n"] - 1) * t["cov_xy"] + dx * dy * between) / (n - 1)
    theta = np.divide(cov, var_x, out=np.zeros_like(cov), where=var_x != 0)
    mean_x = (c["n"] * c["mean_x"] + t["n"] * t["mean_x"]) / n

    def adjusted(a: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        mean = a["mean_y"] - theta * (a["mean_x"] - mean_x)
        return mean, a["var_y"] + theta * theta * a["var_x"] - 2 * theta * a["cov_xy"]

    q = (1 + settings.confidence) / 2
    cuped = _welch(*adjusted(c), c["n"], *adjusted(t), t["n"], q)
    plain = _welch(c["mean_y"], c["var_y"], c["n"], t["mean_y"], t["var_y"], t["n"], q)
    # The same test on the pre-period: arms drawn at random differ there by chance only.
    before = _welch(c["mean_x"], c["var_x"], c["n"], t["mean_x"], t["var_x"], t["n"], q)
    # The achieved sample's minimum detectable effect: (z_{1-alpha/2} + z_power) standard errors,
    # the standard error read back from the CUPED interval's half-width.
    z = stats.norm.ppf(q)
    mde = (z + stats.norm.ppf(settings.power)) * (cuped.upper - cuped.lower) / (2 * z)
    out = {
        "effect": cuped.effect,
        "ci_lower": cuped.lower,
        "ci_upper": cuped.upper,
        "pvalue": cuped.pvalue,
        "plain_ci_lower": plain.lower,
        "plain_ci_upper": plain.upper,
        "mde": mde,
        "balance_pvalue": before.pvalue,
    }
    # An arm of one member, a metric nobody varies on, or figures the covariate explains
    # exactly (no variance left, or rounding below zero) have no estimate at all.
    estimable = (c["n"] >= 2) & (t["n"] >= 2) & (c["var_y"] + t["var_y"] > 0) & np.isfinite(cuped.se) & (cuped.se > 0)
    out = {k: np.where(estimable, v, np.nan) for k, v in out.items()}
    both = (c["n"] > 0) & (t["n"] > 0)
    return {
        "holdout_mean": np.where(both, c["mean_y"], np.nan),
        "treatment_mean": np.where(both, t["mean_y"], np.nan),
        **out,
    }


def effects(arm_aggregates: pl.DataFrame, settings: Settings = Settings()) -> pl.DataFrame:
    """Every campaign, segment ('all' and each) and metric's estimate, from int_campaign_aggregates."""
    keys = ["campaign_id", "segment", "metric"]
    wide = arm_aggregates.select(*keys, "arm", *_ARM).pivot(on="arm", index=keys, values=list(_ARM))
    for arm in (CONTROL, TREATMENT):
        for c in _ARM:
            if f"{c}_{arm}" not in wide.columns:
                wide = wide.with_columns(pl.lit(None, pl.Float64).alias(f"{c}_{arm}"))
    c, t = _arrays(wide, CONTROL), _arrays(wide, TREATMENT)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        figures = _estimates(c, t, settings)
    out = wide.select(
        *keys,
        pl.col(f"n_{CONTROL}").fill_null(0).cast(pl.Int64).alias("holdout_members"),
        pl.col(f"n_{TREATMENT}").fill_null(0).cast(pl.Int64).alias("treatment_members"),
    ).with_columns(pl.Series(name, figures[name], dtype=pl.Float64) for name in _ESTIMATES)
    # Not estimable (an arm too small, no variation) is stored empty, never as NaN.
    return out.fill_nan(None).sort(keys)


def estimate(holdout: dict, treatment: dict, settings: Settings = Settings()) -> dict[str, float]:
    """One pair of arms' estimates; each arm a row of int_campaign_aggregates (n, means,
    variances, covariance), or None for an arm nobody is in."""
    rows = [
        {"campaign_id": "", "segment": "all", "metric": "ntd", "arm": arm, **{k: float(row[k]) for k in _ARM}}
        for arm, row in ((CONTROL, holdout), (TREATMENT, treatment))
        if row is not None
    ]
    return effects(pl.DataFrame(rows), settings).drop(["campaign_id", "segment", "metric"]).row(0, named=True)


def srm_pvalue(holdout: int, treatment: int, holdout_share: float) -> float:
    """p-value of the arms' sizes under the declared holdout share (sample-ratio mismatch)."""
    if holdout == 0 or treatment == 0:
        return 0.0
    import tea_tasting as tt
    from tea_tasting.aggr import Aggregates

    test = tt.SampleRatio(ratio=(1 - holdout_share) / holdout_share)
    counts = {CONTROL: Aggregates(count_=holdout), TREATMENT: Aggregates(count_=treatment)}
    result = test.analyze(counts, control=CONTROL, treatment=TREATMENT)
    return float(result.pvalue)
