"""Rail network distances and fare rules for Kaohsiung MRT, light rail, bus, TRA and bike.

Distances along the lines come from the station table's cumulative km:
- same line: the difference of cumulative km;
- Red <-> Orange: via the Formosa Boulevard transfer (R10 = O5);
- Circular light rail: a closed loop of LOOP_KM, so the shorter way round.
MRT and light rail are separate fare systems, so a trip never spans both (O1/C14 is a
walking transfer between two trips).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

import numpy as np

from pipelines.core.paths import REFERENCE_DIR
from pipelines.core.schema import CARD_TYPES, MODES

#: The Circular Light Rail is a closed loop of about 22.1 km (C37 back to C1).
LOOP_KM = 22.1
#: Red and Orange meet at Formosa Boulevard: R10 on the Red line, O5 on the Orange line.
TRANSFER = {"R": "R10", "O": "O5"}


@dataclass(frozen=True)
class Station:
    station_id: str
    system: str
    line_id: str
    sequence: int
    cumulative_km: float
    district_zh: str


@cache
def stations() -> tuple[Station, ...]:
    with open(REFERENCE_DIR / "kaohsiung_rail_stations.csv", encoding="utf-8") as f:
        return tuple(
            Station(
                r["station_id"],
                r["system"],
                r["line_id"],
                int(r["sequence"]),
                float(r["cumulative_km"]),
                r["district_zh"],
            )
            for r in csv.DictReader(f)
        )


@cache
def _by_id() -> dict[str, Station]:
    return {s.station_id: s for s in stations()}


def rail_distance_km(origin: str, destination: str) -> float:
    """Distance along the lines between two stations of the same system, in km."""
    by_id = _by_id()
    a, b = by_id[origin], by_id[destination]
    if a.system != b.system:
        raise ValueError(f"{origin} and {destination} are on different systems; ride them as two trips")
    if a.line_id == "C":
        d = abs(a.cumulative_km - b.cumulative_km)
        return round(min(d, LOOP_KM - d), 2)
    if a.line_id == b.line_id:
        return round(abs(a.cumulative_km - b.cumulative_km), 2)
    via_a = by_id[TRANSFER[a.line_id]].cumulative_km
    via_b = by_id[TRANSFER[b.line_id]].cumulative_km
    return round(abs(a.cumulative_km - via_a) + abs(via_b - b.cumulative_km), 2)


@cache
def distance_matrix() -> tuple[tuple[str, ...], np.ndarray]:
    """All station pairs' distances (NaN across systems), for vectorised generation."""
    ids = tuple(s.station_id for s in stations())
    m = np.full((len(ids), len(ids)), np.nan)
    for i, a in enumerate(ids):
        for j, b in enumerate(ids):
            if _by_id()[a].system == _by_id()[b].system:
                m[i, j] = rail_distance_km(a, b)
    return ids, m


@dataclass(frozen=True)
class FareRules:
    """Fare rules in NT$. Band sizes not given in the reference are marked as assumptions."""

    mrt_base: int = 20
    mrt_base_km: float = 5.0
    mrt_band_km: float = 2.0  # assumption: the reference gives NT$5 per band, not the band size
    mrt_step: int = 5
    mrt_max: int = 60
    lrt_base: int = 20
    lrt_base_km: float = 5.0
    lrt_band_km: float = 2.0
    lrt_step: int = 5
    lrt_max: int = 35
    bus_per_segment: int = 12
    bus_segment_km: float = 8.0
    tra_per_km: float = 1.46  # assumption: TRA local-train rate, minimum fare below
    tra_min: int = 15
    bike_per_30_min: int = 10  # assumption: synthetic public-bike tariff
    #: Concession multipliers by card type (assumptions: student 80 %, senior 50 %).
    concession: tuple[tuple[str, float], ...] = (
        ("adult", 1.0),
        ("staff", 1.0),
        ("student", 0.8),
        ("senior", 0.5),
    )


FARES = FareRules()


def _banded(km: np.ndarray, base: int, base_km: float, band_km: float, step: int, cap: int) -> np.ndarray:
    extra = np.ceil(np.maximum(km - base_km, 0.0) / band_km - 1e-9)
    return np.minimum(base + step * extra, cap)


def _adult(mode: np.ndarray, km: np.ndarray, minutes: np.ndarray, rules: FareRules) -> np.ndarray:
    """Adult fare of each trip, the mode an index into MODES (-1: none); each tariff is
    applied to its own trips only."""
    tariffs = {
        "mrt": lambda k, _: _banded(
            k, rules.mrt_base, rules.mrt_base_km, rules.mrt_band_km, rules.mrt_step, rules.mrt_max
        ),
        "lrt": lambda k, _: _banded(
            k, rules.lrt_base, rules.lrt_base_km, rules.lrt_band_km, rules.lrt_step, rules.lrt_max
        ),
        "bus": lambda k, _: rules.bus_per_segment * np.ceil(k / rules.bus_segment_km - 1e-9),
        "tra": lambda k, _: np.maximum(np.round(k * rules.tra_per_km), rules.tra_min),
        "bike": lambda _, m: rules.bike_per_30_min * np.ceil(m / 30.0 - 1e-9),
    }
    out = np.zeros(len(mode))
    for i, name in enumerate(MODES):
        sel = np.flatnonzero(mode == i)
        out[sel] = tariffs[name](km[sel], minutes[sel])
    return out


def _codes(values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Index of each value in `names`, -1 for none."""
    out = np.full(len(values), -1, dtype=np.int8)
    for i, name in enumerate(names):
        out[values == name] = i
    return out


def full_fare(mode: np.ndarray, km: np.ndarray, minutes: np.ndarray, rules: FareRules = FARES) -> np.ndarray:
    """Adult fare in NT$ for each trip (vectorised over numpy arrays)."""
    return _adult(_codes(mode, MODES), km, minutes, rules)


def fare_by_code(
    mode: np.ndarray, km: np.ndarray, minutes: np.ndarray, card_type: np.ndarray, rules: FareRules = FARES
) -> np.ndarray:
    """fare() with the mode and card type as indices into MODES and CARD_TYPES (-1: unknown,
    no fare or no concession): the generator prices millions of trips a month, and comparing
    strings took a third of the pricing."""
    concession = dict(rules.concession)
    mult = np.array([concession.get(t, 1.0) for t in CARD_TYPES] + [1.0])
    return np.floor(_adult(mode, km, minutes, rules) * mult[card_type] + 0.5).astype(np.int32)


def fare(
    mode: np.ndarray, km: np.ndarray, minutes: np.ndarray, card_type: np.ndarray, rules: FareRules = FARES
) -> np.ndarray:
    """Fare in integer NT$ after the card type's concession (rounded half up)."""
    return fare_by_code(_codes(mode, MODES), km, minutes, _codes(card_type, CARD_TYPES), rules)


def scalar_fare(mode: str, km: float, minutes: float = 0.0, card_type: str = "adult") -> int:
    """One trip's fare: a convenience for tests and notebooks."""
    return int(fare(np.array([mode]), np.array([km]), np.array([minutes]), np.array([card_type]))[0])


def haversine_km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km (vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(h))
