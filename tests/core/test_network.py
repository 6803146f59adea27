"""Distances and fares for hand-picked trips, worked out by hand from the station table."""

from __future__ import annotations

import pytest

from pipelines.core.network import rail_distance_km, scalar_fare


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        ("R3", "R10", 9.81),  # same line: 9.81 - 0
        ("R10", "O5", 0.0),  # one station, two codes
        ("O1", "R3", 13.36),  # O1 -> O5 is 3.55, then R10 -> R3 is 9.81
        ("OT1", "RK1", 29.42),  # 13.06 - 3.55 = 9.51, then 29.72 - 9.81 = 19.91
        ("C1", "C37", 0.48),  # loop: 21.62 the long way, 22.1 - 21.62 the short way
        ("C1", "C20", 10.37),  # 11.73 one way, 22.1 - 11.73 = 10.37 the other
        ("C5", "C9", 2.44),  # 5.10 - 2.66, shorter than 22.1 - 2.44
    ],
)
def test_rail_distance(a, b, km):
    assert rail_distance_km(a, b) == pytest.approx(km, abs=1e-9)
    assert rail_distance_km(b, a) == pytest.approx(km, abs=1e-9)


def test_mrt_and_light_rail_are_separate_trips():
    with pytest.raises(ValueError, match="different systems"):
        rail_distance_km("O1", "C14")


@pytest.mark.parametrize(
    ("mode", "km", "minutes", "card", "fare"),
    [
        ("mrt", 4.99, 10, "adult", 20),  # within the first 5 km
        ("mrt", 5.0, 10, "adult", 20),
        ("mrt", 5.01, 10, "adult", 25),  # one started 2 km band
        ("mrt", 9.81, 20, "adult", 35),  # 4.81 km over: three bands
        ("mrt", 29.72, 60, "adult", 60),  # 20 + 5 * 13 = 85, capped at 60
        ("mrt", 9.81, 20, "student", 28),  # 35 * 0.8
        ("mrt", 9.81, 20, "senior", 18),  # 35 * 0.5 = 17.5, half up
        ("lrt", 10.37, 25, "adult", 35),  # 20 + 5 * 3 = 35, at the cap
        ("lrt", 6.0, 15, "adult", 25),
        ("bus", 8.0, 30, "adult", 12),  # one 8 km segment
        ("bus", 8.1, 30, "adult", 24),  # two segments
        ("tra", 20.0, 25, "adult", 29),  # 20 * 1.46 = 29.2
        ("tra", 5.0, 10, "adult", 15),  # minimum fare
        ("bike", 3.0, 31, "adult", 20),  # two started half-hours
    ],
)
def test_fares(mode, km, minutes, card, fare):
    assert scalar_fare(mode, km, minutes, card) == fare
