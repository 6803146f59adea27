"""A release: one publication of noisy figures, with its own noise, recorded in the ledger.

Every noisy figure of a release is named (unit, month, statistic, value) and its noise drawn
from the release's keyed stream for that name (pipelines/privacy/noise.py). A release's ID is
a hash of what it publishes: the snapshot, its kind (merchant figures, an audience count), the
units and months (or the audience), and the privacy configuration; not the batch's name, nor
the code. Its noisy figures are computed once and kept (data/privacy/releases/<release>/):
publishing the same thing again shows the very figures already published, whatever batch asks
and whatever the code has become since, and costs nothing. Fresh figures for the same things
(after a correction) are a new revision, opened on purpose (`run --new-release`) and charged:
the same noise on changed figures would let their difference be read exactly, and renaming a
batch must not buy fresh noise to average.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.core.paths import data_dir
from pipelines.privacy import PrivacyError
from pipelines.privacy.accounting import CONFIG_FILE, PrivacyConfig, load_privacy
from pipelines.privacy.ledger import charge, entries, mark_kept
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


def config_sha256() -> str:
    return hashlib.sha256(CONFIG_FILE.read_bytes()).hexdigest()


def release_id(basis: str, kind: str, items: list[tuple[str, str]], revision: int = 1) -> str:
    """What a release publishes, hashed: the same inputs give the same ID (and noise)."""
    h = hashlib.sha256(f"{basis}\n{kind}\n{config_sha256()}\n".encode())
    for unit, month in sorted(set(items)):
        h.update(f"{unit} {month}\n".encode())
    base = f"{kind}-{h.hexdigest()[:16]}"
    return base if revision == 1 else f"{base}-r{revision}"


def open_release(
    basis: str, kind: str, items: list[tuple[str, str]], what: dict, rho: float, new: bool = False
) -> Release:
    """The release of `items` (unit or audience, YYYY-MM) of `kind`, made from `basis` (the
    snapshot's hash): the latest revision recorded, or, with `new` or none yet, a new one,
    charged `rho` per member; refused with PrivacyError when a year's budget would be exceeded."""
    if not items:
        raise PrivacyError("a release needs at least one unit and month")
    config = load_privacy()
    base = release_id(basis, kind, items)
    revisions = [e.get("revision", 1) for rid, e in entries().items() if e.get("base") == base]
    revision = (max(revisions, default=0) + 1) if new or not revisions else max(revisions)
    rid = release_id(basis, kind, items, revision)
    years = sorted({int(month[:4]) for _, month in items})
    record = {"basis": basis, "kind": kind, "base": base, "revision": revision, "config_sha256": config_sha256()}
    charge(rid, years, rho, config, {**what, **record, "items": len(set(items))})
    return Release(rid, config, noise_key())


def recorded_release(rid: str) -> Release:
    """A release already in the ledger (a batch's reports get its ID as a parameter)."""
    if rid not in entries():
        raise PrivacyError(f"release {rid!r} is not in the privacy ledger: no figures may be published under it")
    return Release(rid, load_privacy(), noise_key())


def figures_dir(rid: str) -> Path:
    return data_dir() / "privacy" / "releases" / rid


def kept(release: Release) -> dict[str, pl.DataFrame] | None:
    """The release's kept figures, or None if they were never computed. Figures that were
    published and are gone cannot be computed again under the same noise."""
    folder = figures_dir(release.id)
    if (folder / "done").exists():
        return {p.stem: pl.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}
    if entries().get(release.id, {}).get("kept"):
        raise PrivacyError(
            f"the figures of release {release.id} were published but are missing from {folder}; "
            "publish fresh ones with `run --new-release` (a new revision, charged to the budget)"
        )
    return None


def keep(release: Release, compute: Callable[[], dict[str, pl.DataFrame]]) -> dict[str, pl.DataFrame]:
    """The release's figures: kept ones, or `compute()`d now, written whole and recorded."""
    found = kept(release)
    if found is not None:
        return found
    figures = compute()
    final = figures_dir(release.id)
    tmp = final.with_name(f".incomplete-{release.id}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for name, frame in figures.items():
            frame.write_parquet(tmp / f"{name}.parquet")
        (tmp / "done").touch()
        tmp.rename(final)
    except OSError:
        if not (final / "done").exists():  # another process kept the same figures first
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mark_kept(release.id)
    return kept(release) or figures


def kept_releases(kind: str, basis: str) -> list[str]:
    """Releases of `kind` made from `basis` under the current configuration whose figures are
    kept, newest revision first."""
    found = [
        (e.get("revision", 1), rid)
        for rid, e in entries().items()
        if e.get("kind") == kind
        and e.get("basis") == basis
        and e.get("config_sha256") == config_sha256()
        and (figures_dir(rid) / "done").exists()
    ]
    return [rid for _, rid in sorted(found, reverse=True)]
