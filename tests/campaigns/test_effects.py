"""The effect statistics: checked by hand on a few members, and over many simulated campaigns
whose true effect is known (fixed seeds, so the figures below are the same every run)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats

from pipelines.campaigns.effects import Settings, effects, estimate, srm_pvalue
from pipelines.campaigns.marts import results

SIMULATIONS = 1000


def _aggregates(y: np.ndarray, x: np.ndarray) -> dict:
    return {
        "n": len(y),
        "mean_y": float(y.mean()),
        "mean_x": float(x.mean()),
        "var_y": float(y.var(ddof=1)),
        "var_x": float(x.var(ddof=1)),
        "cov_xy": float(np.cov(x, y)[0, 1]),
    }


def _estimate(y: np.ndarray, x: np.ndarray, treated: np.ndarray) -> dict:
    return estimate(_aggregates(y[~treated], x[~treated]), _aggregates(y[treated], x[treated]))


def _welch(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """b - a with Welch's t interval, written out."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = stats.t.ppf(0.5 + confidence / 2, df)
    d = b.mean() - a.mean()
    return d, d - t * se, d + t * se


def test_a_few_members_by_hand():
    # Six held out, six treated; y during the campaign, x before it.
    y = np.array([0, 100, 0, 50, 0, 80, 120, 0, 200, 90, 60, 150], dtype=float)
    x = np.array([10, 90, 0, 60, 20, 70, 100, 10, 150, 80, 40, 130], dtype=float)
    treated = np.array([False] * 6 + [True] * 6)
    got = _estimate(y, x, treated)
    d, lo, hi = _welch(y[~treated], y[treated])
    assert got["plain_ci_lower"] == pytest.approx(lo) and got["plain_ci_upper"] == pytest.approx(hi)
    assert got["holdout_mean"] == pytest.approx(230 / 6) and got["treatment_mean"] == pytest.approx(620 / 6)
    # CUPED: theta = cov(x, y) / var(x) over all members; each member's y minus theta (x - mean x),
    # then Welch's interval on the adjusted figures.
    theta = np.cov(x, y)[0, 1] / x.var(ddof=1)
    adjusted = y - theta * (x - x.mean())
    d, lo, hi = _welch(adjusted[~treated], adjusted[treated])
    assert got["effect"] == pytest.approx(d, rel=1e-6)
    assert (got["ci_lower"], got["ci_upper"]) == pytest.approx((lo, hi), rel=1e-6)
    assert got["ci_upper"] - got["ci_lower"] < got["plain_ci_upper"] - got["plain_ci_lower"]
    # The minimum detectable effect: (1.96 + 0.84) standard errors of the CUPED estimate.
    se = (hi - lo) / (2 * stats.t.ppf(0.975, 1e9))
    assert got["mde"] == pytest.approx((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * se, rel=0.02)


def _campaign(rng: np.random.Generator, lift: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """A simulated campaign: members with their own habit (a gamma-distributed rate of
    purchases), purchases before and during it, a random holdout, and `lift` extra purchases
    per treated member (by the member's segment). Returns NT$ during, NT$ before, arms and
    the true effect in NT$ per member."""
    n = len(lift)
    rate = rng.gamma(0.8, 1.5, n)
    share = rng.choice([0.2, 0.5])
    treated = rng.random(n) >= share
    ticket = 120.0
    before = rng.poisson(rate * 2)
    during = rng.poisson(rate) + rng.poisson(lift * treated)

    def spend(count: np.ndarray) -> np.ndarray:
        total = np.zeros(n)
        np.add.at(total, np.repeat(np.arange(n), count), rng.lognormal(np.log(ticket) - 0.15, 0.55, count.sum()))
        return total

    true_effect = float(lift.mean()) * ticket
    return spend(during), spend(before), treated, true_effect


@pytest.fixture(scope="module")
def simulated() -> pl.DataFrame:
    """SIMULATIONS campaigns of 1,000 members; the effect differs by segment (three segments,
    one with no effect at all), and a twin campaign with no effect anywhere."""
    rng = np.random.default_rng(20261127)
    rows = []
    for _ in range(SIMULATIONS):
        segment = rng.integers(0, 3, 1000)
        lift = np.array([0.6, 0.3, 0.0])[segment]
        for name, effect in (("planted", lift), ("none", np.zeros(1000))):
            y, x, treated, truth = _campaign(rng, effect)
            got = _estimate(y, x, treated)
            rows.append({"campaign": name, "truth": truth, **got})
    return pl.DataFrame(rows)


def test_intervals_cover_the_planted_effect_at_the_nominal_rate(simulated):
    planted = simulated.filter(pl.col("campaign") == "planted")
    covered = ((planted["ci_lower"] <= planted["truth"]) & (planted["truth"] <= planted["ci_upper"])).mean()
    assert 0.93 <= covered <= 0.97, covered


def test_no_effect_is_found_significant_at_about_the_nominal_rate(simulated):
    none = simulated.filter(pl.col("campaign") == "none")
    assert (none["truth"] == 0).all()
    rejected = (none["pvalue"] < 0.05).mean()
    assert 0.03 <= rejected <= 0.07, rejected


def test_cuped_narrows_the_interval_when_the_past_predicts(simulated):
    width = simulated["ci_upper"] - simulated["ci_lower"]
    plain = simulated["plain_ci_upper"] - simulated["plain_ci_lower"]
    assert (width < plain).mean() > 0.95
    assert (1 - width / plain).median() > 0.1


def test_the_sample_ratio_test_flags_60_40_declared_50_50():
    assert srm_pvalue(400, 600, 0.5) < 0.001
    assert srm_pvalue(500, 500, 0.5) > 0.9
    assert srm_pvalue(200, 800, 0.2) > 0.9
    # Against a binomial test: 470 of 1,000 held out when half were declared.
    assert srm_pvalue(470, 530, 0.5) == pytest.approx(stats.binomtest(470, 1000, 0.5).pvalue, rel=0.01)


def test_effects_and_results_of_a_crafted_campaign():
    """Two arms of four members with no purchases before: CUPED has nothing to adjust, so the
    effect is the difference of means; incremental NT$ and NT$ per NT$ of cost follow."""
    holdout, treated = np.array([0.0, 100, 0, 60]), np.array([150.0, 0, 200, 90])
    rows = [
        {"campaign_id": "C00001", "segment": "all", "metric": "ntd", "arm": arm, **_aggregates(y, np.zeros(4))}
        for arm, y in (("holdout", holdout), ("treatment", treated))
    ]
    rows = [r | {"var_x": 0.0, "cov_xy": 0.0} for r in rows]
    est = effects(pl.DataFrame(rows), Settings())
    row = est.row(0, named=True)
    assert row["effect"] == pytest.approx(440 / 4 - 160 / 4)
    _, lo, hi = _welch(holdout, treated)
    assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((lo, hi))
    campaigns = pl.DataFrame(
        {
            "campaign_id": ["C00001"],
            "holdout_members": [4],
            "treatment_members": [4],
            "holdout_share": [0.5],
            "cost_ntd": [50],
        }
    )
    summary = results(campaigns, est).row(0, named=True)
    assert summary["incremental_ntd"] == pytest.approx(70 * 4)
    assert summary["ntd_per_cost"] == pytest.approx(70 * 4 / 50)
    assert summary["ntd_per_cost_lower"] == pytest.approx(lo * 4 / 50)
    assert summary["srm_pvalue"] == pytest.approx(1.0)
    assert summary["cuped_narrowing"] == pytest.approx(0.0, abs=1e-9)


def test_figures_the_covariate_explains_exactly_give_no_estimate_rather_than_an_error():
    # Each member did during the campaign what they did before: CUPED leaves no variance at all.
    for y in (np.array([1.0, 2, 3, 4, 5, 6]), np.array([0.1, 0.7, 0.3, 0.9, 0.2, 0.4]) * 3):
        got = _estimate(y, y.copy(), np.array([False, False, False, True, True, True]))
        assert got["effect"] is None and got["ci_lower"] is None and got["pvalue"] is None
        assert got["holdout_mean"] == pytest.approx(y[:3].mean())


def test_a_holdout_mean_near_zero_gives_an_estimate_rather_than_an_overflow():
    # The crash the marts met on a small snapshot: two held-out members who spent almost nothing.
    holdout = {"n": 2, "mean_y": 0.73, "mean_x": 0.5, "var_y": 14516.07, "var_x": 0.5, "cov_xy": 1.0}
    treated = {"n": 9, "mean_y": 337.8, "mean_x": 300.0, "var_y": 521993.7, "var_x": 9000.0, "cov_xy": 100.0}
    got = estimate(holdout, treated)
    assert got["holdout_members"] == 2
    assert got["ci_lower"] < got["effect"] < got["ci_upper"]
    # Welch's plain interval from the aggregates, written out (tea-tasting overflows here on the
    # relative interval it works out as well).
    vc, vt = holdout["var_y"] / 2, treated["var_y"] / 9
    df = (vc + vt) ** 2 / (vc**2 / 1 + vt**2 / 8)
    half = stats.t.ppf(0.975, df) * np.sqrt(vc + vt)
    d = treated["mean_y"] - holdout["mean_y"]
    assert (got["plain_ci_lower"], got["plain_ci_upper"]) == pytest.approx((d - half, d + half))


def _tea_tasting(holdout: dict, treated: dict) -> dict[str, float]:
    """The same figures, one pair of arms at a time, by tea-tasting itself."""
    import tea_tasting as tt
    from tea_tasting.aggr import Aggregates

    def arm(a: dict) -> Aggregates:
        return Aggregates(
            count_=a["n"],
            mean_={"y": a["mean_y"], "x": a["mean_x"]},
            var_={"y": a["var_y"], "x": a["var_x"]},
            cov_={("x", "y"): a["cov_xy"]},
        )

    c, t = arm(holdout), arm(treated)
    cuped = tt.Mean("y", covariate="x").analyze_aggregates(c, t)
    plain = tt.Mean("y").analyze_aggregates(c, t)
    before = tt.Mean("x").analyze_aggregates(c, t)
    return {
        "effect": cuped.effect_size,
        "ci_lower": cuped.effect_size_ci_lower,
        "ci_upper": cuped.effect_size_ci_upper,
        "pvalue": cuped.pvalue,
        "plain_ci_lower": plain.effect_size_ci_lower,
        "plain_ci_upper": plain.effect_size_ci_upper,
        "balance_pvalue": before.pvalue,
    }


def test_the_estimates_equal_tea_tastings_on_random_arms():
    """Every group's figures, computed in one pass over arrays, equal tea-tasting's Mean
    (CUPED with the covariate, plain, and the pre-period test) called pair by pair."""
    rng = np.random.default_rng(7)
    rows, pairs = [], []
    for i in range(400):
        n = rng.integers(2, 3000, 2)
        arms = []
        for arm, size in zip(("holdout", "treatment"), n, strict=True):
            habit = rng.gamma(rng.uniform(0.2, 3), rng.uniform(1, 200), size)
            x = rng.poisson(habit) * rng.uniform(0, 1) + rng.poisson(habit, size) * (arm == "treatment") * 0.1
            y = rng.poisson(habit) * rng.uniform(0.5, 2) + rng.exponential(1, size)
            a = _aggregates(y, x)
            arms.append(a)
            rows.append({"campaign_id": f"C{i:05d}", "segment": "all", "metric": "ntd", "arm": arm, **a})
        pairs.append(arms)
    got = effects(pl.DataFrame(rows))
    assert got.height == len(pairs)
    for row, (holdout, treated) in zip(got.iter_rows(named=True), pairs, strict=True):
        want = _tea_tasting(holdout, treated)
        for name, value in want.items():
            assert row[name] == pytest.approx(value, rel=1e-9, abs=1e-300), (row["campaign_id"], name)
        assert row["holdout_members"] == holdout["n"] and row["treatment_members"] == treated["n"]


def test_a_holdout_that_bought_nothing_still_gives_the_treatment_arms_effect():
    """No held-out member bought at the shop: the effect in NT$ is the treated arm's mean, with
    Welch's interval on its variance alone (tea-tasting, asked for a ratio too, divided by zero)."""
    treated = np.array([0.0, 120, 0, 300, 80, 0, 0, 150])
    holdout = {"n": 6, "mean_y": 0.0, "mean_x": 0.0, "var_y": 0.0, "var_x": 0.0, "cov_xy": 0.0}
    got = estimate(holdout, _aggregates(treated, np.zeros(8)) | {"var_x": 0.0, "cov_xy": 0.0})
    half = stats.t.ppf(0.975, 7) * treated.std(ddof=1) / np.sqrt(8)
    assert got["effect"] == pytest.approx(treated.mean())
    assert (got["ci_lower"], got["ci_upper"]) == pytest.approx((treated.mean() - half, treated.mean() + half))
