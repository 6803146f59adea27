"""A release: one publication of noisy figures, with its own noise, recorded in the ledger.

Every noisy figure of a release is named (unit, month, statistic, value) and its noise drawn
from the release's keyed stream for that name (pipelines/privacy/noise.py). A release's ID is
a hash of what it publishes (what the figures are made from: the snapshot and the code that
built its marts; the batch; the units and months; the privacy configuration), so publishing
the same thing again gives the same figures and costs nothing more, and anything else, even
the same cells computed by changed code, is a new release with fresh noise that the ledger
charges (the same noise on changed figures would let their difference be read exactly).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pipelines.privacy import PrivacyError
from pipelines.privacy.accounting import CONFIG_FILE, PrivacyConfig, load_privacy
from pipelines.privacy.ledger import charge
from pipelines.privacy.noise import noise_key, noisy


@dataclass(frozen=True)
class Release:
    id: str
    config: PrivacyConfig
    key: bytes

    def noisy_count(self, value: int, statistic: str, *name: str) -> int:
        """`value` with this release's noise for the named figure; never below zero."""
        sigma = self.config.sigma_of(statistic)
        return max(0, noisy(int(value), sigma, "|".join((self.id, statistic, *name)), self.key))

    def margin(self, statistic: str) -> float:
        """Half the width of a 95 % interval of a noisy figure: 1.96 sigma."""
        return 1.96 * self.config.sigma_of(statistic)


def release_id(basis: str, batch: str, items: list[tuple[str, str]]) -> str:
    """What a release publishes, hashed: the same inputs give the same ID (and noise)."""
    h = hashlib.sha256(f"{basis}\n{batch}\n".encode())
    h.update(CONFIG_FILE.read_bytes())
    for unit, month in sorted(set(items)):
        h.update(f"{unit} {month}\n".encode())
    return f"{batch}-{h.hexdigest()[:16]}"


def open_release(basis: str, batch: str, items: list[tuple[str, str]], what: dict) -> Release:
    """Charge the ledger for a release of `items` (unit, YYYY-MM) made from `basis` (hashes
    of the data and code behind the figures) and return it; refused with PrivacyError when a
    year's budget would be exceeded."""
    if not items:
        raise PrivacyError("a release needs at least one unit and month")
    config = load_privacy()
    rid = release_id(basis, batch, items)
    years = sorted({int(month[:4]) for _, month in items})
    charge(rid, years, config.rho_per_release(), config, {**what, "batch": batch, "units": len(set(items))})
    return Release(rid, config, noise_key())


def recorded_release(rid: str) -> Release:
    """A release the runner has already charged (its reports pass its ID as a parameter)."""
    import json

    from pipelines.privacy.ledger import ledger_path

    path = ledger_path()
    if not path.exists() or rid not in json.loads(path.read_text())["releases"]:
        raise PrivacyError(f"release {rid!r} is not in the privacy ledger: no figures may be published under it")
    return Release(rid, load_privacy(), noise_key())
