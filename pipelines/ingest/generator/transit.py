"""Transit scene: one month of trips (commutes of staff cards, leisure rides, anonymous cards)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.core.network import distance_matrix, fare_by_code, haversine_km
from pipelines.core.schema import MODES
from pipelines.ingest.generator.params import COMMUTE_PATTERNS
from pipelines.ingest.generator.population import Block, Population, rng_for
from pipelines.ingest.generator.timing import (
    HOUR_PROFILES,
    active_window,
    at_clock,
    draw_days,
    draw_times,
    time_order,
    weekday,
)

# Modes travel as small integer codes; strings are made once, when the frame is built.
MRT, LRT, BUS, TRA, BIKE = (MODES.index(m) for m in ("mrt", "lrt", "bus", "tra", "bike"))

_MINUTES_PER_KM = np.array([{"mrt": 2.0, "lrt": 2.6, "bus": 3.0, "tra": 1.1, "bike": 4.0}[m] for m in MODES])
_FIXED_MINUTES = np.array([{"mrt": 3.0, "lrt": 3.0, "bus": 5.0, "tra": 5.0, "bike": 2.0}[m] for m in MODES])


@dataclass
class Legs:
    """Column arrays of trips under construction (station and district as indices, -1 = none)."""

    card: np.ndarray
    mode: np.ndarray
    start_us: np.ndarray
    origin: np.ndarray
    destination: np.ndarray
    origin_district: np.ndarray
    destination_district: np.ndarray
    km: np.ndarray

    @staticmethod
    def concat(parts: list[Legs]) -> Legs:
        return Legs(*(np.concatenate([getattr(p, f) for p in parts]) for f in Legs.__dataclass_fields__))

    def minutes(self) -> np.ndarray:
        return _FIXED_MINUTES[self.mode] + _MINUTES_PER_KM[self.mode] * self.km


class _Network:
    def __init__(self, pop: Population) -> None:
        _, self.dist = distance_matrix()
        self.system = pop.stations["system"].to_numpy()
        codes = pop.districts["district_id"].to_list()
        self.station_district = (
            pop.stations["district_id"].replace_strict(dict(zip(codes, range(len(codes)), strict=True))).to_numpy()
        )
        self.by_system = {s: np.flatnonzero(self.system == s) for s in ("KRTC", "KLRT")}
        self.d_lon = pop.districts["lon"].to_numpy()
        self.d_lat = pop.districts["lat"].to_numpy()
        self.n_districts = len(codes)

    def road_km(self, rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """A road distance between districts: detour factor on the straight line plus local legs."""
        straight = haversine_km(self.d_lon[a], self.d_lat[a], self.d_lon[b], self.d_lat[b])
        return 1.3 * straight + rng.uniform(1.0, 4.0, len(a))


def _rail_leg(net: _Network, card, mode, start, origin, destination) -> Legs:
    return Legs(
        card,
        mode,
        start,
        origin,
        destination,
        net.station_district[origin],
        net.station_district[destination],
        net.dist[origin, destination],
    )


def _commutes(
    pop: Population, net: _Network, rng: np.random.Generator, employees: np.ndarray, lo_day: int, hi_day: int
) -> list[Legs]:
    p = pop.params
    member = pop.emp_member[employees]
    lo, hi = active_window(pop.member_join_day[member], pop.member_stop_day[member], lo_day, hi_day)
    days = np.arange(lo_day, hi_day)
    grid = (days[None, :] >= lo[:, None]) & (days[None, :] < hi[:, None]) & (weekday(days)[None, :] < 5)
    grid &= rng.random(grid.shape) >= p.leave_day_share
    local, day_pos = np.nonzero(grid)
    emp = employees[local]
    day = days[day_pos]
    n = len(emp)
    pattern = np.array(COMMUTE_PATTERNS)[pop.emp_pattern[emp]]
    work_station = pop.stations["station_id"].to_list()
    work = np.array([work_station.index(s) for s in pop.employers["work_station_id"].to_list()])[pop.emp_employer[emp]]
    home_station = pop.emp_home_station[emp]
    home_d = pop.member_home[pop.emp_member[emp]]
    work_d = net.station_district[work]
    rail_mode = np.where(net.system[work] == "KRTC", MRT, LRT)
    card = pop.emp_card[emp]
    leg_km = pop.emp_leg_km[emp] * rng.uniform(0.95, 1.05, n)
    feeder_km = pop.emp_feeder_km[emp]
    legs: list[Legs] = []
    for direction, mean, sd, lo_min, hi_min in (("am", 470, 25, 390, 570), ("pm", 1080, 35, 990, 1230)):
        depart = np.clip(rng.normal(mean, sd, n), lo_min, hi_min)
        start = at_clock(day, depart)
        a_station, b_station = (home_station, work) if direction == "am" else (work, home_station)
        a_d, b_d = (home_d, work_d) if direction == "am" else (work_d, home_d)
        single = np.isin(pattern, ["bus", "tra", "bike"])
        mode = np.where(pattern == "bus", BUS, np.where(pattern == "tra", TRA, BIKE))
        legs.append(
            Legs(
                card[single],
                mode[single],
                start[single],
                np.full(single.sum(), -1),
                np.full(single.sum(), -1),
                a_d[single],
                b_d[single],
                leg_km[single],
            )
        )
        rail = pattern == "rail"
        legs.append(_rail_leg(net, card[rail], rail_mode[rail], start[rail], a_station[rail], b_station[rail]))
        # bus+rail: the bus feeds the home station in the morning and takes over from it at night.
        mixed = pattern == "bus+rail"
        m = mixed.sum()
        home_station_d = net.station_district[home_station[mixed]]
        bus_minutes = _FIXED_MINUTES[BUS] + _MINUTES_PER_KM[BUS] * feeder_km[mixed]
        change = rng.uniform(3, 10, m)
        if direction == "am":
            bus_start = start[mixed]
            rail_start = bus_start + np.round((bus_minutes + change) * 60e6).astype(np.int64)
        else:
            rail_start = start[mixed]
            rail_minutes = _FIXED_MINUTES[MRT] + _MINUTES_PER_KM[MRT] * net.dist[work[mixed], home_station[mixed]]
            bus_start = rail_start + np.round((rail_minutes + change) * 60e6).astype(np.int64)
        legs.append(
            Legs(
                card[mixed],
                np.full(m, BUS),
                bus_start,
                np.full(m, -1),
                np.full(m, -1),
                home_d[mixed],
                home_station_d,
                feeder_km[mixed],
            )
        )
        legs.append(_rail_leg(net, card[mixed], rail_mode[mixed], rail_start, a_station[mixed], b_station[mixed]))
    return legs


def _rides(
    pop: Population,
    net: _Network,
    rng: np.random.Generator,
    card: np.ndarray,
    home_d: np.ndarray,
    home_station: dict[str, np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
) -> list[Legs]:
    """Leisure and errand rides for the given cards, any day of the week."""
    modes = np.array([MODES.index(m) for m, _ in pop.params.leisure_modes])
    share = np.array([s for _, s in pop.params.leisure_modes])
    n = len(card)
    mode = modes[rng.choice(len(modes), n, p=share / share.sum())]
    start = draw_times(rng, draw_days(rng, lo, hi), HOUR_PROFILES["leisure_trip"])
    legs: list[Legs] = []
    for rail_mode, system in ((MRT, "KRTC"), (LRT, "KLRT")):
        sel = np.flatnonzero(mode == rail_mode)
        pool = net.by_system[system]
        random_origin = pool[rng.integers(0, len(pool), len(sel))]
        origin = np.where(rng.random(len(sel)) < 0.5, home_station[system][sel], random_origin)
        destination = pool[rng.integers(0, len(pool), len(sel))]
        # R10/O5 is one station under two codes: re-draw until the ride goes somewhere.
        while (same := net.dist[origin, destination] == 0).any():
            destination[same] = pool[(np.searchsorted(pool, destination[same]) + 1) % len(pool)]
        legs.append(_rail_leg(net, card[sel], mode[sel], start[sel], origin, destination))
    other = np.flatnonzero(~np.isin(mode, [MRT, LRT]))
    o_mode = mode[other]
    dest_d = rng.integers(0, net.n_districts, len(other))
    dest_d = np.where(o_mode == BIKE, home_d[other], dest_d)
    km = np.select(
        [o_mode == BUS, o_mode == TRA],
        [net.road_km(rng, home_d[other], dest_d), np.clip(rng.lognormal(np.log(15.0), 0.5, len(other)), 3, 90)],
        default=rng.uniform(0.8, 5.0, len(other)),
    )
    legs.append(
        Legs(
            card[other],
            o_mode,
            start[other],
            np.full(len(other), -1),
            np.full(len(other), -1),
            home_d[other],
            dest_d,
            km,
        )
    )
    return legs


def _member_rides(
    pop: Population,
    net: _Network,
    rng: np.random.Generator,
    card: np.ndarray,
    member: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    month: int,
) -> list[Legs]:
    """Rides on `card` by `member` from around their home that month, within their active days."""
    homes = pop.home_station_at(member, month)
    return _rides(pop, net, rng, card, pop.home_at(member, month), homes, lo[member], hi[member])


def month_trips(pop: Population, block: Block, seed: int, month: int, lo_day: int, hi_day: int) -> pl.DataFrame:
    """The block's trips whose tap-in falls in [lo_day, hi_day) (month index `month` of the
    period), in time order (no IDs yet)."""
    rng = rng_for(seed, "trips", lo_day, block.index)
    net = _Network(pop)
    p = pop.params
    parts = _commutes(pop, net, rng, block.employees, lo_day, hi_day)
    # Members' own rides on their everyday card, by those who ride, in months they are active.
    lo, hi = active_window(pop.member_join_day, pop.member_stop_day, lo_day, hi_day)
    frac = np.clip(hi - lo, 0, None) / (hi_day - lo_day)
    members = block.members
    on = pop.active_in(members, month) & pop.uses(members, "transit")
    count = rng.poisson(p.member_trips * pop.member_rate[members] * frac[members] * on)
    who = np.repeat(members, count)
    parts += _member_rides(pop, net, rng, pop.member_card[who], who, lo, hi, month)
    # Staff cards also carry occasional non-commute rides, on any day.
    emp = block.employees
    count = rng.poisson(2.0 * frac[pop.emp_member[emp]])
    who_e = np.repeat(emp, count)
    parts += _member_rides(pop, net, rng, pop.emp_card[who_e], pop.emp_member[who_e], lo, hi, month)
    # Anonymous cards ride with no member behind them.
    anon = block.anon
    count = rng.poisson(p.anonymous_trips, len(anon))
    who_a = np.repeat(anon, count)
    home_a = rng.integers(0, net.n_districts, len(who_a))
    parts += _rides(
        pop,
        net,
        rng,
        who_a,
        home_a,
        {s: net.by_system[s][rng.integers(0, len(net.by_system[s]), len(who_a))] for s in net.by_system},
        np.full(len(who_a), lo_day),
        np.full(len(who_a), hi_day),
    )
    legs = Legs.concat(parts)
    keep = (legs.start_us >= lo_day * 86_400_000_000) & (legs.start_us < hi_day * 86_400_000_000)
    # In time order; a stable sort keeps ties in their (deterministic) order of generation.
    order = np.flatnonzero(keep)[time_order(legs.start_us[keep], lo_day * 86_400_000_000)]
    legs = Legs(*(getattr(legs, f)[order] for f in Legs.__dataclass_fields__))
    km = np.round(legs.km, 2)
    minutes = legs.minutes() * rng.uniform(0.9, 1.2, len(km))
    card_type = pop.card_type[legs.card]
    station_ids = pop.stations["station_id"]
    district_ids = pop.districts["district_id"]

    def station(idx: np.ndarray) -> pl.Series:
        return pl.select(pl.when(pl.Series(idx >= 0)).then(station_ids.gather(np.maximum(idx, 0)))).to_series()

    frame = pl.DataFrame(
        {
            "card_id": pop.cards["card_id"].gather(legs.card),
            "mode": pl.Series(MODES).gather(legs.mode),
            "tap_in_at": pl.Series(legs.start_us).cast(pl.Datetime("us")),
            "tap_out_at": pl.Series(legs.start_us + np.round(minutes * 60e6).astype(np.int64)).cast(pl.Datetime("us")),
            "origin_station_id": station(legs.origin),
            "destination_station_id": station(legs.destination),
            "origin_district_id": district_ids.gather(legs.origin_district),
            "destination_district_id": district_ids.gather(legs.destination_district),
            "distance_km": km,
            "fare": fare_by_code(legs.mode, km, minutes, card_type),
        }
    )
    return frame
