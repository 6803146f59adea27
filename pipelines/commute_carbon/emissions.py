"""Commute emissions: GHG Protocol Scope 3 category 7, distance-based, from staff cards' taps.

Emissions the commutes caused and emissions avoided against a counterfactual private-vehicle
mix are computed and reported separately, never netted (WBCSD avoided-emissions guidance).

Ranges are envelopes: "low" takes every transit factor at its low end; the counterfactual at
its low end takes the low private-vehicle factors *and* the mix shifted towards the
lower-emitting vehicle; "high" the opposite. Avoided emissions pair the counterfactual's low
end with caused emissions' high end (and vice versa), so the range holds every combination.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import polars as pl

from pipelines.core.paths import REFERENCE_DIR
from pipelines.core.schema import MODES

LEVELS = ("low", "central", "high")
TRANSIT_MODES = MODES
#: How far the counterfactual mix moves (share points) between its low and high ends.
MIX_SHIFT = 0.10


@dataclass(frozen=True)
class Factors:
    """kg CO2e per passenger-km for transit modes and per vehicle-km for private vehicles."""

    transit: dict[str, dict[str, float]]  # mode -> level -> kg/pkm
    vehicles: dict[str, dict[str, float]]  # mode -> level -> kg/vkm
    occupancy: dict[str, float]
    table: pl.DataFrame  # the rows as read, with their sources


def load_factors(path: str = "") -> Factors:
    """Read a factor set (default: data/reference/emission_factors.csv); every row needs a source."""
    file = REFERENCE_DIR / (path or "emission_factors.csv")
    if not file.exists():
        raise ValueError(f"factor set {path!r} not found in {REFERENCE_DIR}")
    table = pl.read_csv(file)
    missing = table.filter(pl.col("source").is_null() | (pl.col("source").str.strip_chars() == ""))
    if missing.height:
        raise ValueError(f"{file.name}: rows without a source: {', '.join(missing['mode'])}")
    transit, vehicles, occupancy = {}, {}, {}
    for row in table.iter_rows(named=True):
        levels = {lvl: float(row[lvl]) for lvl in LEVELS}
        if not levels["low"] <= levels["central"] <= levels["high"]:
            raise ValueError(f"{file.name}: {row['mode']} needs low <= central <= high")
        if row["role"] == "transit":
            transit[row["mode"]] = levels
        else:
            vehicles[row["mode"]] = levels
            occupancy[row["mode"]] = float(row["default_occupancy"])
    absent = set(TRANSIT_MODES) - set(transit)
    if absent:
        raise ValueError(f"{file.name}: no factor for transit modes {sorted(absent)}")
    return Factors(transit, vehicles, occupancy, table)


def default_mix() -> dict[str, float]:
    """Private-vehicle shares from the national commuting survey, renormalised over the
    private motorised modes (had these commuters not taken transit, they would have ridden
    or driven)."""
    with open(REFERENCE_DIR / "commute_modal_split.csv", encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["scope"] == "taiwan_commute")
    shares = {m: float(row[m]) for m in ("scooter", "car")}
    total = sum(shares.values())
    return {m: s / total for m, s in shares.items()}


def parse_mix(text: str, factors: Factors) -> dict[str, float]:
    """'scooter=0.7,car=0.3' (shares summing to 1), or empty for the survey default."""
    if not text:
        return default_mix()
    try:
        mix = {k.strip(): float(v) for k, v in (part.split("=") for part in text.split(","))}
    except ValueError:
        raise ValueError(f"counterfactual mix must look like 'scooter=0.7,car=0.3', got {text!r}") from None
    unknown = set(mix) - set(factors.vehicles)
    if unknown:
        raise ValueError(f"no private-vehicle factor for {sorted(unknown)}; known: {sorted(factors.vehicles)}")
    if abs(sum(mix.values()) - 1) > 1e-6 or min(mix.values()) < 0:
        raise ValueError(f"counterfactual shares must be non-negative and sum to 1, got {mix}")
    return mix


def counterfactual_per_pkm(factors: Factors, mix: dict[str, float]) -> dict[str, float]:
    """kg CO2e per passenger-km had the distance been ridden or driven by the mix, per level."""

    def per_pkm(mode: str, level: str) -> float:
        return factors.vehicles[mode][level] / factors.occupancy[mode]

    cleanest = min(mix, key=lambda m: per_pkm(m, "central"))
    dirtiest = max(mix, key=lambda m: per_pkm(m, "central"))
    out = {}
    for level, toward in (("low", cleanest), ("central", None), ("high", dirtiest)):
        shifted = dict(mix)
        if toward is not None and len(mix) > 1:
            away = dirtiest if toward == cleanest else cleanest
            move = min(MIX_SHIFT, shifted[away])
            shifted[away] -= move
            shifted[toward] += move
        out[level] = sum(share * per_pkm(m, level) for m, share in shifted.items())
    return out


def emissions(pkm: pl.DataFrame, factors: Factors, mix: dict[str, float], by: list[str]) -> pl.DataFrame:
    """Caused, counterfactual and avoided kg CO2e (low / central / high) per group of `by`.

    `pkm` has the columns of `by`, `mode` and `pkm`.
    """
    cf = counterfactual_per_pkm(factors, mix)
    rate = pl.DataFrame([{"mode": m, **{f"ef_{lvl}": v[lvl] for lvl in LEVELS}} for m, v in factors.transit.items()])
    joined = pkm.join(rate, on="mode", how="left")
    if joined["ef_central"].null_count():
        raise ValueError(
            f"no emission factor for modes {sorted(set(joined.filter(pl.col('ef_central').is_null())['mode']))}"
        )
    out = joined.group_by(by).agg(
        pl.col("pkm").sum().alias("pkm"),
        *[(pl.col("pkm") * pl.col(f"ef_{lvl}")).sum().alias(f"caused_kg_{lvl}") for lvl in LEVELS],
    )
    out = out.with_columns(*[(pl.col("pkm") * cf[lvl]).alias(f"counterfactual_kg_{lvl}") for lvl in LEVELS])
    return out.with_columns(
        (pl.col("counterfactual_kg_low") - pl.col("caused_kg_high")).alias("avoided_kg_low"),
        (pl.col("counterfactual_kg_central") - pl.col("caused_kg_central")).alias("avoided_kg_central"),
        (pl.col("counterfactual_kg_high") - pl.col("caused_kg_low")).alias("avoided_kg_high"),
    ).sort(by)


def employer_month(days: pl.DataFrame) -> pl.DataFrame:
    """Employees covered, commuting days and commute trips per employer and month, from the
    commute_days mart."""
    return (
        days.group_by("employer_id", "month")
        .agg(
            pl.col("card_id").n_unique().alias("employees"),
            pl.col("commuting_days").sum(),
            pl.col("commute_trips").sum(),
        )
        .sort("employer_id", "month")
    )


def monthly_figures(days: pl.DataFrame, pkm: pl.DataFrame, factors: Factors, mix: dict[str, float]) -> pl.DataFrame:
    """Per employer and month: employees, commuting days, commute trips, passenger-km and
    caused, counterfactual and avoided kg CO2e (low / central / high)."""
    by = ["employer_id", "month"]
    kg = emissions(pkm_by_mode(pkm, by), factors, mix, by)
    return employer_month(days).join(kg, on=by).sort(by)


def pkm_by_mode(pkm: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Legs and passenger-km per group of `by` and mode, from the commute_pkm mart."""
    totals = pkm.group_by([*by, "mode"]).agg(pl.col("passenger_m").sum(), pl.col("legs").sum())
    return totals.select(*by, "mode", (pl.col("passenger_m") / 1000).alias("pkm"), "legs").sort([*by, "mode"])
