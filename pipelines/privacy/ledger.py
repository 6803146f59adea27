"""The privacy ledger: what each release of merchant-facing figures spent, per member, per
calendar year of the data it describes, and refusal of a release that would exceed the
yearly budget. Kept in data/privacy/ledger.json beside the data (not with any one run), so
that every run of every batch counts. Publishing the same release again (same snapshot,
reports and configuration, so the same noise) costs nothing more: it reveals nothing new.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.core.paths import data_dir
from pipelines.privacy import PrivacyError
from pipelines.privacy.accounting import PrivacyConfig


def ledger_path() -> Path:
    return data_dir() / "privacy" / "ledger.json"


@contextlib.contextmanager
def _locked() -> Iterator[dict[str, Any]]:
    path = ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ledger = json.loads(path.read_text()) if path.exists() else {"releases": {}}
        yield ledger
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(ledger, indent=1, sort_keys=True) + "\n")
        tmp.replace(path)


def entries() -> dict[str, dict[str, Any]]:
    """Every recorded release by ID (a release covering several years also appears as
    ID@year for each later year)."""
    path = ledger_path()
    return json.loads(path.read_text())["releases"] if path.exists() else {}


def mark_kept(release: str) -> None:
    """Record that the release's figures were computed and kept: from now on they are the
    published ones, never to be computed again under the same noise."""
    with _locked() as ledger:
        for rid, entry in ledger["releases"].items():
            if rid == release or rid.startswith(f"{release}@"):
                entry["kept"] = True


def spent(ledger: dict[str, Any], year: int) -> float:
    return sum(r["rho"] for r in ledger["releases"].values() if r["year"] == year)


def charge(release: str, years: list[int], rho: float, config: PrivacyConfig, what: dict[str, Any]) -> dict[str, Any]:
    """Record `release` (cost `rho` per member in each year its data covers), or refuse it
    when a year's budget would be exceeded. A release already recorded is not charged again."""
    with _locked() as ledger:
        if release in ledger["releases"]:
            return ledger["releases"][release]
        for year in sorted(set(years)):
            used = spent(ledger, year)
            if used + rho > config.yearly_rho + 1e-12:
                raise PrivacyError(
                    f"the privacy budget for {year} would be exceeded: {used:.3f} of rho {config.yearly_rho} is "
                    f"spent and this release needs {rho:.3f} (epsilon {config.epsilon(used + rho):.1f} in all at "
                    f"delta {config.delta:g}). Publish fewer releases for {year}, or raise yearly_rho in "
                    "pipelines/privacy/config/privacy.toml if your policy allows"
                )
        entry = {
            **what,
            "year": sorted(set(years))[0],
            "years": sorted(set(years)),
            "rho": rho,
            "epsilon": config.epsilon(rho),
            "delta": config.delta,
            "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        for year in sorted(set(years))[1:]:
            ledger["releases"][f"{release}@{year}"] = {**entry, "year": year}
        ledger["releases"][release] = entry
        return entry


def year_summary(year: int, config: PrivacyConfig) -> dict[str, float]:
    """What a year of data has spent so far (the `privacy` command)."""
    used = spent({"releases": entries()}, year)
    return {"rho": used, "epsilon": config.epsilon(used) if used else 0.0, "budget_rho": config.yearly_rho}
