"""What differential privacy costs: the configuration (config/privacy.toml), the noise of each
figure, and the zCDP cost of a release per member, calibrated and converted by OpenDP.

Every figure of a merchant unit's month is a count that one member changes by a bounded
amount: a count of customers by 1; a distribution (its cells together) by 1 in one cell, so 1
in L2 norm; transactions by max_visits and NT$ by max_spend_ntd; the hours of the week by 1 in
each of max_hours cells, sqrt(max_hours) in L2 norm. Each gets discrete Gaussian noise with
sigma times that sensitivity, so each costs the same rho = 1 / (2 sigma^2) (OpenDP's Gaussian
mechanism; the discrete Gaussian's zCDP cost is the continuous one's, Canonne, Kamath and
Steinke 2020, Theorem 14), and a unit's month costs the sum. A member counts in at most max_units of the
units (outlets, chains) and months a release publishes: a release costs at most that many
units' rho per member, whatever it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipelines.core.config import ConfigError, check_keys, read_toml

CONFIG_FILE = Path(__file__).parent / "config" / "privacy.toml"
_KEYS = ("sigma", "max_units", "max_visits", "max_spend_ntd", "max_hours", "audience_sigma", "delta", "yearly_rho")


@dataclass(frozen=True)
class PrivacyConfig:
    sigma: float
    max_units: int
    max_visits: int
    max_spend_ntd: int
    max_hours: int
    audience_sigma: float
    delta: float
    yearly_rho: float

    def caps(self) -> dict[str, int]:
        """How much one member can change each figure of a unit's month (the hours: in how
        many cells, by one each)."""
        return {
            "customers": 1,
            "transactions": self.max_visits,
            "revenue_ntd": self.max_spend_ntd,
            "customer_type": 1,
            "visit_frequency": 1,
            "age_band": 1,
            "gender": 1,
            "home_district": 1,
            "segment": 1,
            "hour_of_week": self.max_hours,
            "cross_category": 1,
        }

    def sensitivity(self, statistic: str) -> float:
        """The L2 norm of what one member can change in a figure (a distribution: its cells)."""
        cap = self.caps()[statistic]
        return cap**0.5 if statistic == "hour_of_week" else float(cap)

    def sigma_of(self, statistic: str) -> float:
        if statistic == "audience":
            return self.audience_sigma
        return self.sigma * self.sensitivity(statistic)

    def rho_per_audience(self) -> float:
        """The cost of one audience count: its total and its members by segment (a member is
        in one segment), each a count one member changes by one."""
        return 2 * _gaussian_rho(self.audience_sigma, 1.0)

    def rho_per_unit(self) -> float:
        """zCDP cost per member of one unit's month, from OpenDP's Gaussian mechanism."""
        return sum(_gaussian_rho(self.sigma_of(statistic), self.sensitivity(statistic)) for statistic in self.caps())

    def rho_per_release(self) -> float:
        """The most a release can cost one member: max_units units' months."""
        return self.max_units * self.rho_per_unit()

    def epsilon(self, rho: float) -> float:
        """The (epsilon, delta) equivalent of a zCDP cost, at the configured delta."""
        return _epsilon(rho, self.delta)


@cache
def _gaussian_rho(scale: float, sensitivity: float) -> float:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    space = dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float)
    return float(dp.m.make_gaussian(*space, scale=scale).map(sensitivity))


@cache
def _epsilon(rho: float, delta: float) -> float:
    """The smallest epsilon of an (epsilon, delta) guarantee implied by rho-zCDP: OpenDP's
    conversion of a Gaussian measurement with that rho."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    scale = (1 / (2 * rho)) ** 0.5  # a sensitivity-1 Gaussian with cost rho
    gaussian = dp.m.make_gaussian(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=scale)
    return float(dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(gaussian), delta).map(1.0)[0])


def load_privacy(path: Path = CONFIG_FILE) -> PrivacyConfig:
    raw = check_keys(read_toml(path), _KEYS, str(path), required=_KEYS)
    for key in ("max_units", "max_visits", "max_spend_ntd", "max_hours"):
        if not isinstance(raw[key], int) or raw[key] < 1:
            raise ConfigError(f"{path}: {key} must be a whole number of at least 1, got {raw[key]!r}")
    for key in ("sigma", "audience_sigma", "yearly_rho"):
        if not isinstance(raw[key], int | float) or raw[key] <= 0:
            raise ConfigError(f"{path}: {key} must be a positive number, got {raw[key]!r}")
    if not 0 < raw["delta"] < 1e-5:
        raise ConfigError(f"{path}: delta must lie between 0 and 1e-5, got {raw['delta']!r}")
    return PrivacyConfig(
        float(raw["sigma"]),
        raw["max_units"],
        raw["max_visits"],
        raw["max_spend_ntd"],
        raw["max_hours"],
        float(raw["audience_sigma"]),
        float(raw["delta"]),
        float(raw["yearly_rho"]),
    )
