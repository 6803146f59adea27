"""When events happen: active windows, days, and hour-of-day profiles."""

from __future__ import annotations

import numpy as np

_US_PER_DAY = 86_400_000_000


def _profile(
    *peaks: tuple[float, float, float], base: float = 0.02, open_from: int = 0, open_to: int = 24
) -> np.ndarray:
    """Hour weights: a small base while open plus Gaussian peaks (centre hour, width, height)."""
    hours = np.arange(24) + 0.5
    w = np.full(24, base)
    for centre, width, height in peaks:
        w += height * np.exp(-0.5 * ((hours - centre) / width) ** 2)
    w[(hours < open_from) | (hours > open_to)] = 0.0
    return w / w.sum()


#: Hour-of-day profiles by purpose (synthetic, shaped after everyday rhythms).
HOUR_PROFILES: dict[str, np.ndarray] = {
    "leisure_trip": _profile((8.0, 1.2, 0.6), (12.5, 1.5, 0.4), (17.8, 1.5, 0.8), (20.5, 1.5, 0.4), open_from=6),
    "convenience_store": _profile((7.8, 1.0, 1.0), (12.3, 1.0, 0.9), (19.0, 2.0, 0.9), base=0.08),
    "food_and_drink": _profile((7.5, 0.8, 0.8), (12.2, 0.8, 1.3), (18.6, 1.0, 1.2), open_from=6),
    "supermarket": _profile((11.0, 1.5, 0.4), (18.3, 1.3, 1.0), open_from=9, open_to=23),
    "pharmacy": _profile((11.0, 2.0, 0.5), (19.0, 1.5, 0.6), open_from=9, open_to=22),
    "department_store": _profile((15.0, 2.5, 0.8), (20.0, 1.2, 0.6), open_from=11, open_to=22),
    "fuel": _profile((7.8, 1.0, 0.8), (18.0, 1.2, 0.9), base=0.05),
    "parking": _profile((8.5, 1.0, 0.9), (13.0, 2.0, 0.4), (19.5, 1.5, 0.6), base=0.03),
    "bookstore": _profile((15.0, 2.5, 0.6), (20.0, 1.0, 0.5), open_from=10, open_to=22),
    "entertainment": _profile((15.0, 2.0, 0.5), (20.5, 1.5, 1.0), open_from=10),
    "bill": _profile((12.0, 3.0, 0.6), (21.0, 1.5, 0.6), open_from=7),
    "transfer": _profile((12.5, 1.5, 0.5), (20.5, 2.0, 0.8), open_from=7),
}


def active_window(
    join_day: np.ndarray, stop_day: np.ndarray, month_lo: int, month_hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each member's active days [lo, hi) within the month; hi <= lo means inactive."""
    lo = np.maximum(join_day, month_lo)
    hi = np.minimum(stop_day, month_hi)
    return lo, hi


def draw_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform day in [lo, hi) for each row (callers only pass rows with hi > lo)."""
    return lo + np.floor(rng.random(len(lo)) * (hi - lo)).astype(np.int64)


def draw_times(rng: np.random.Generator, day: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Microseconds since the epoch: the day, an hour drawn from the profile, a uniform second."""
    hour = rng.choice(24, size=len(day), p=profile)
    second = rng.integers(0, 3600, len(day))
    return day * _US_PER_DAY + (hour * 3600 + second) * 1_000_000


def at_clock(day: np.ndarray, minutes_after_midnight: np.ndarray) -> np.ndarray:
    """Microseconds since the epoch for a day and a (fractional) minute of that day."""
    return day * _US_PER_DAY + np.round(minutes_after_midnight * 60_000_000).astype(np.int64)


def weekday(day: np.ndarray) -> np.ndarray:
    """0 = Monday ... 6 = Sunday, for days since 1970-01-01 (a Thursday)."""
    return (day + 3) % 7


def time_order(at_us: np.ndarray, origin_us: int) -> np.ndarray:
    """The stable argsort of event times at or after `origin_us`: the same permutation as
    np.argsort(kind="stable"), by three radix passes over 16-bit digits of the time since the
    origin (a month is under 2**48 microseconds), several times cheaper than a comparison sort
    of 64-bit integers on the hundreds of thousands of events of a month."""
    offset = at_us - origin_us
    if len(offset) and (offset.min() < 0 or offset.max() >= 2**48):
        return np.argsort(at_us, kind="stable")
    order = np.arange(len(offset))
    for shift in (0, 16, 32):
        digit = ((offset[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
    return order
