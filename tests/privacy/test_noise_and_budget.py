"""The noise, its accounting and the ledger: the sampler against the exact distribution, the
costs against the formulas, and the budget refusing what would exceed it."""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
from fractions import Fraction

import polars as pl
import pytest

from pipelines.core.config import ConfigError
from pipelines.privacy import PrivacyError
from pipelines.privacy.accounting import load_privacy
from pipelines.privacy.ledger import _locked, charge, spent
from pipelines.privacy.noise import KeyedStream, discrete_gaussian, noisy
from pipelines.privacy.release import figures_dir, keep, open_release, recorded_release, release_id


def _pmf(sigma: float, bound: int) -> dict[int, float]:
    weights = {x: math.exp(-(x * x) / (2 * sigma * sigma)) for x in range(-bound, bound + 1)}
    total = sum(weights.values())
    return {x: w / total for x, w in weights.items()}


def test_the_sampler_draws_the_discrete_gaussian():
    """20,000 draws against the exact probabilities: every value within 4 standard errors."""
    sigma, n = 3.0, 20_000
    draws = [discrete_gaussian(Fraction(3), KeyedStream(b"key", f"draw {i}")) for i in range(n)]
    pmf = _pmf(sigma, 40)
    for x in range(-8, 9):
        expected = pmf[x] * n
        assert abs(draws.count(x) - expected) < 4 * math.sqrt(expected), x
    assert abs(sum(d * d for d in draws) / n - sum(p * x * x for x, p in pmf.items())) < 0.3


def test_noise_is_the_same_for_the_same_figure_and_independent_otherwise():
    assert noisy(100, 10, "release a|customers|S1", b"k") == noisy(100, 10, "release a|customers|S1", b"k")
    others = {noisy(100, 10, f"release {i}|customers|S1", b"k") for i in range(50)}
    assert len(others) > 15  # fresh noise for every other release
    assert noisy(100, 10, "release a|customers|S1", b"k") != noisy(100, 10, "release a|customers|S1", b"other key") or (
        noisy(100, 10, "release b|customers|S1", b"k") != noisy(100, 10, "release b|customers|S1", b"other key")
    )


def test_the_cost_of_a_release_follows_the_gaussian_formula():
    """Each figure gets sigma times what one member can change in it, so each costs
    1 / (2 sigma^2); a unit's month is the eleven figures; a release max_units units."""
    config = load_privacy()
    per_figure = 1 / (2 * config.sigma**2)
    assert config.rho_per_unit() == pytest.approx(11 * per_figure)
    assert config.rho_per_release() == pytest.approx(config.max_units * 11 * per_figure)
    # OpenDP's conversion is at most the textbook bound rho + 2 sqrt(rho ln(1 / delta)).
    rho = config.yearly_rho
    assert config.epsilon(rho) <= rho + 2 * math.sqrt(rho * math.log(1 / config.delta))
    assert config.epsilon(rho) > config.epsilon(rho / 2) > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [("sigma = 10.0", "sigma = 0"), ("max_units = 8", "max_units = 0"), ("delta = 1e-9", "delta = 0.01")],
)
def test_a_bad_privacy_configuration_is_refused(tmp_path, change, message):
    from pipelines.privacy.accounting import CONFIG_FILE

    path = tmp_path / "privacy.toml"
    path.write_text(CONFIG_FILE.read_text().replace(change, message))
    with pytest.raises(ConfigError):
        load_privacy(path)


def test_the_ledger_charges_once_and_refuses_past_the_budget(isolated_data):
    config = dataclasses.replace(load_privacy(), yearly_rho=1.0)
    charge("r1", [2025], 0.4, config, {})
    charge("r1", [2025], 0.4, config, {})  # the same release again: nothing new is revealed
    charge("r2", [2025], 0.4, config, {})
    from pipelines.privacy.ledger import _locked

    with _locked() as ledger:
        assert spent(ledger, 2025) == pytest.approx(0.8)
    with pytest.raises(PrivacyError, match=r"budget for 2025 would be exceeded: 0.800 of rho 1.0"):
        charge("r3", [2025], 0.4, config, {})
    charge("r3", [2026], 0.4, config, {})  # another year has its own budget
    with pytest.raises(PrivacyError, match="2025"):
        charge("r4", [2025, 2026], 0.4, config, {})


def test_a_release_is_named_by_what_it_publishes_and_must_be_recorded(isolated_data):
    items = [("S1", "2025-06"), ("B1", "2025-06")]
    a = release_id("sha", "merchant", items)
    assert a == release_id("sha", "merchant", items[::-1])
    assert a != release_id("sha", "merchant", items[:1])
    assert a != release_id("other snapshot", "merchant", items)
    assert a != release_id("sha", "audience", items)
    with pytest.raises(PrivacyError, match="not in the privacy ledger"):
        recorded_release(a)
    opened = open_release("sha", "merchant", items, {"batch": "monthly"}, 0.1)
    assert opened.id == a and recorded_release(a).id == a


def test_the_same_release_again_costs_nothing_and_a_new_revision_is_charged(isolated_data):
    items = [("S1", "2025-06")]
    first = open_release("sha", "merchant", items, {"batch": "monthly"}, 0.1)
    # Another batch asking for the same units and month gets the same release: no fresh noise.
    assert open_release("sha", "merchant", items, {"batch": "renamed"}, 0.1).id == first.id
    with _locked() as ledger:
        assert spent(ledger, 2025) == pytest.approx(0.1)
    second = open_release("sha", "merchant", items, {}, 0.1, new=True)
    assert second.id == f"{first.id}-r2"
    assert open_release("sha", "merchant", items, {}, 0.1).id == second.id  # the latest revision
    with _locked() as ledger:
        assert spent(ledger, 2025) == pytest.approx(0.2)


def test_kept_figures_are_the_published_ones_and_are_never_computed_twice(isolated_data):
    release = open_release("sha", "merchant", [("S1", "2025-06")], {}, 0.1)
    calls = []

    def compute():
        calls.append(1)
        return {"heads": pl.DataFrame({"customers": [len(calls)]})}

    assert keep(release, compute)["heads"]["customers"][0] == 1
    assert keep(release, compute)["heads"]["customers"][0] == 1 and len(calls) == 1
    shutil.rmtree(figures_dir(release.id))
    with pytest.raises(PrivacyError, match="were published but are missing"):
        keep(release, compute)


def test_the_privacy_command_shows_each_years_spending_each_release_and_each_merchants_cost(isolated_data, monkeypatch):
    from typer.testing import CliRunner

    from pipelines import cli
    from pipelines.cli import app

    # The command's console took its width when first imported (80 columns without a terminal).
    monkeypatch.setattr(cli.out, "width", 160)
    config = load_privacy()
    charge("merchant-a", [2025], 0.25, config, {"kind": "merchant", "merchants": ["S1", "S2"], "kept": True})
    charge("merchant-b", [2025], 0.125, config, {"kind": "merchant", "merchants": ["S2"], "kept": True})
    done = CliRunner().invoke(app, ["privacy"])
    assert done.exit_code == 0, done.output
    text = done.output
    for title in ("Privacy budget per year of data", "Releases, oldest first", "Privacy cost per merchant"):
        assert title in text
    assert re.search(r"merchant-a\s+│\s+merchant\s+│.*│\s+S1, S2\s+│\s+2025\s+│\s+0\.250\s+│", text)
    assert re.search(r"merchant-b\s+│\s+merchant\s+│.*│\s+S2\s+│\s+2025\s+│\s+0\.125\s+│", text)
    assert text.index("merchant-a") < text.index("merchant-b")  # oldest first
    # 2025 has spent 0.375 of its budget; S2 was in both releases (0.25 + 0.125), S1 in one.
    assert re.search(rf"2025\s+│\s+0\.375\s+│\s+{config.yearly_rho:g}\s+│", text)
    assert re.search(r"S1\s+│\s+0\.250", text) and re.search(r"S2\s+│\s+0\.375", text)
