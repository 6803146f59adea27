"""Entities: districts, stations, members, employers, cards, merchants, and what was planted."""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.core.network import distance_matrix, haversine_km
from pipelines.core.reference import reference_tables
from pipelines.core.schema import SECTORS, table
from pipelines.ingest.generator.params import COMMUTE_PATTERNS, GeneratorParams


def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent, stable random stream per (seed, purpose, month ...)."""
    words = [k if isinstance(k, int) else zlib.crc32(k.encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def ids(prefix: str, n: int, width: int) -> pl.Series:
    """Sequential IDs like M00000001: pseudonymous, and distinctive enough to scan outputs for."""
    digits = pl.Series("id", np.arange(1, n + 1)).cast(pl.String).str.zfill(width)
    return pl.select(pl.lit(prefix) + digits).to_series()


def _where(mask: np.ndarray, values: pl.Series) -> pl.Expr:
    """`values` where `mask` holds, null elsewhere."""
    return pl.when(pl.Series(mask)).then(values)


def _days(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


@dataclass
class Population:
    """Everything the monthly event generators need, as numpy arrays indexed by position."""

    params: GeneratorParams
    districts: pl.DataFrame
    stations: pl.DataFrame
    members: pl.DataFrame
    employers: pl.DataFrame
    cards: pl.DataFrame
    merchants: pl.DataFrame
    # member-level arrays
    member_home: np.ndarray  # district index
    member_age: np.ndarray
    member_join_day: np.ndarray  # days since epoch
    member_stop_day: np.ndarray  # first dormant day (days since epoch), or a day past the end
    member_intensity: np.ndarray
    member_card: np.ndarray  # index into cards of the member's everyday card
    member_cluster: np.ndarray  # friend/family cluster
    member_bills: np.ndarray  # bool matrix members x bill types
    # employees
    emp_member: np.ndarray
    emp_employer: np.ndarray
    emp_card: np.ndarray
    emp_pattern: np.ndarray  # index into COMMUTE_PATTERNS
    emp_home_station: np.ndarray  # index into stations
    emp_leg_km: np.ndarray  # the employee's usual bus / TRA / bike distance
    emp_feeder_km: np.ndarray  # bus feeder leg before rail, for bus+rail commuters
    member_home_station: dict[str, np.ndarray]  # system -> station index near home
    anon_cards: np.ndarray  # card indices of anonymous cards
    card_type: np.ndarray  # fare class of each card
    ground_truth: dict[str, pl.DataFrame]


@dataclass(frozen=True)
class Block:
    """A fixed slice of members (with their staff cards) and of anonymous cards.

    Months are generated block by block so memory stays bounded at any scale; the block
    size is fixed, not tied to the machine, so the same seed gives the same data anywhere.
    """

    index: int
    members: np.ndarray
    employees: np.ndarray  # positions in the emp_* arrays
    anon: np.ndarray  # card indices


def member_count(params: GeneratorParams, scale: float) -> int:
    return max(50, round(params.members_per_scale * scale))


def block_count(n_members: int, size: int) -> int:
    return max(1, -(-n_members // size))


def blocks(pop: Population) -> list[Block]:
    n, size = pop.members.height, pop.params.block_members
    count = block_count(n, size)
    anon_edges = np.linspace(0, len(pop.anon_cards), count + 1).round().astype(int)
    out = []
    for b in range(count):
        lo, hi = b * size, min(n, (b + 1) * size)
        employees = np.flatnonzero((pop.emp_member >= lo) & (pop.emp_member < hi))
        out.append(Block(b, np.arange(lo, hi), employees, pop.anon_cards[anon_edges[b] : anon_edges[b + 1]]))
    return out


def _choice(rng: np.random.Generator, options: tuple, weights: list[float] | np.ndarray, n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(options), size=n, p=w / w.sum())


def build(params: GeneratorParams, scale: float, seed: int) -> Population:
    reference = reference_tables()
    districts, stations = reference["districts"], reference["stations"]
    n_dist = districts.height
    station_district = (
        stations["district_id"]
        .replace_strict(dict(zip(districts["district_id"], range(n_dist), strict=True)))
        .to_numpy()
    )
    rng = rng_for(seed, "members")
    n = member_count(params, scale)
    end_year = params.end.year
    start_day, end_day = _days(params.start), _days(params.end) + 1

    # --- members -------------------------------------------------------------------------
    bands = params.age_bands
    band = _choice(rng, bands, [b[2] for b in bands], n)
    lo = np.array([b[0] for b in bands])[band]
    hi = np.array([b[1] for b in bands])[band]
    age = rng.integers(lo, hi + 1)
    gender = np.where(rng.random(n) < params.female_share, "F", "M")
    # Synthetic residence weights: districts with more stations are denser.
    station_count = np.bincount(station_district, minlength=n_dist)
    home = _choice(rng, tuple(range(n_dist)), 2.0 + station_count, n)
    joining = rng.random(n) < params.joining_share
    join_day = np.where(
        joining,
        rng.integers(start_day, end_day - 7, n),
        rng.integers(_days(dt.date(2016, 1, 1)), start_day, n),
    )
    intensity = rng.lognormal(0.0, params.activity_sigma, n)
    # Churn: members who joined before the period fall dormant at a random day after its first
    # month and at least a month before it ends (both shortened for periods under six months).
    span = end_day - start_day
    dormant = (rng.random(n) < params.dormant_share) & (join_day < start_day)
    dormant_lo, dormant_hi = start_day + min(31, span // 4), end_day - min(30, span // 6)
    stop_day = np.where(dormant, rng.integers(dormant_lo, dormant_hi, n), end_day + 10_000)
    # Guardians: each member aged 14-20 is linked to an adult member aged 30-64.
    minors = np.flatnonzero(age <= 20)
    adults = np.flatnonzero((age >= 30) & (age <= 64))
    guardian = np.full(n, -1)
    guardian[minors] = adults[rng.integers(0, len(adults), len(minors))]
    member_ids = ids("M", n, 8)
    members = pl.DataFrame(
        {
            "member_id": member_ids,
            "account_id": ids("W", n, 8),
            "gender": gender,
            "birth_year": (end_year - age).astype(np.int32),
            "home_district_id": districts["district_id"].gather(home),
            "join_date": pl.Series(join_day.astype("datetime64[D]")),
        }
    ).with_columns(_where(guardian >= 0, member_ids.gather(np.maximum(guardian, 0))).alias("guardian_member_id"))

    # --- employers -----------------------------------------------------------------------
    rng = rng_for(seed, "employers")
    n_emp = max(3, round(params.employers_per_scale * scale))
    systems = stations["system"].to_numpy()
    # Most work places sit by an MRT station, one in five by the light rail.
    work_station = np.where(
        rng.random(n_emp) < 0.8,
        rng.choice(np.flatnonzero(systems == "KRTC"), n_emp),
        rng.choice(np.flatnonzero(systems == "KLRT"), n_emp),
    )
    employers = pl.DataFrame(
        {
            "employer_id": ids("E", n_emp, 4),
            "employer_name": [f"Employer {i:04d} (synthetic)" for i in range(1, n_emp + 1)],
            "sector": np.array(SECTORS)[rng.integers(0, len(SECTORS), n_emp)],
            "district_id": stations["district_id"].gather(work_station),
            "work_station_id": stations["station_id"].gather(work_station),
            "in_carbon_programme": rng.random(n_emp) < 0.75,
        }
    )
    # Each employer's true commute mix: a Dirichlet draw, so employers differ.
    alpha = np.array([6.0, 3.0, 1.0, 1.5, 2.0])
    pattern_share = rng.dirichlet(alpha, n_emp)
    working_age = np.flatnonzero((age >= 22) & (age <= 64))
    n_staff = round(params.employee_share * len(working_age))
    emp_member = np.sort(rng.choice(working_age, n_staff, replace=False))
    size_weight = rng.lognormal(0.0, 0.8, n_emp)
    emp_employer = rng.choice(n_emp, n_staff, p=size_weight / size_weight.sum())
    emp_pattern = (rng.random(n_staff)[:, None] > np.cumsum(pattern_share[emp_employer], axis=1)).sum(axis=1)
    emp_pattern = np.minimum(emp_pattern, len(COMMUTE_PATTERNS) - 1)
    member_home_station = {}
    for system in ("KRTC", "KLRT"):
        same_sys = np.flatnonzero(systems == system)
        pick = same_sys[rng.integers(0, len(same_sys), n)]
        for d in range(n_dist):
            local = same_sys[station_district[same_sys] == d]
            at_d = home == d
            if len(local) and at_d.any():
                pick[at_d] = local[rng.integers(0, len(local), int(at_d.sum()))]
        member_home_station[system] = pick

    # An employee's home station is their home station on the work place's system; where that
    # is the work station itself (or R10/O5, one station), any other station of the system.
    _, dist = distance_matrix()
    work_sys = systems[work_station[emp_employer]]
    emp_home_station = np.where(
        work_sys == "KRTC", member_home_station["KRTC"][emp_member], member_home_station["KLRT"][emp_member]
    )
    while (clash := dist[emp_home_station, work_station[emp_employer]] == 0).any():
        for system in ("KRTC", "KLRT"):
            fix = clash & (work_sys == system)
            same_sys = np.flatnonzero(systems == system)
            emp_home_station[fix] = same_sys[rng.integers(0, len(same_sys), int(fix.sum()))]
    work_district = station_district[work_station[emp_employer]]
    d_lon, d_lat = districts["lon"].to_numpy(), districts["lat"].to_numpy()
    straight = haversine_km(
        d_lon[home[emp_member]], d_lat[home[emp_member]], d_lon[work_district], d_lat[work_district]
    )
    pattern_name = np.array(COMMUTE_PATTERNS)[emp_pattern]
    emp_leg_km = np.select(
        [pattern_name == "bus", pattern_name == "tra", pattern_name == "bike"],
        [
            1.3 * straight + rng.uniform(1.5, 4.0, n_staff),
            rng.lognormal(np.log(15.0), 0.4, n_staff),
            rng.uniform(1.5, 6.0, n_staff),
        ],
        default=0.0,
    )
    emp_leg_km = np.clip(emp_leg_km, 0.5, 90.0)
    emp_feeder_km = rng.uniform(1.5, 5.0, n_staff)
    # --- cards ---------------------------------------------------------------------------
    rng = rng_for(seed, "cards")
    personal_type = np.where(age <= 22, "student", np.where(age >= 65, "senior", "adult"))
    second = np.flatnonzero((rng.random(n) < params.second_card_share) & (age >= 21))
    n_anon = round(params.anonymous_cards_per_member * n)
    holder = np.concatenate([np.arange(n), second, emp_member, np.full(n_anon, -1)])
    ctype = np.concatenate(
        [personal_type, np.full(len(second), "adult"), np.full(n_staff, "staff"), np.full(n_anon, "adult")]
    )
    employer_of_card = np.concatenate([np.full(n + len(second), -1), emp_employer, np.full(n_anon, -1)])
    issued = np.where(
        holder >= 0,
        join_day[np.maximum(holder, 0)] + rng.integers(0, 30, len(holder)),
        rng.integers(_days(dt.date(2016, 1, 1)), start_day, len(holder)),
    )
    issued = np.minimum(issued, end_day - 1)
    n_cards = len(holder)
    card_ids = ids("K", n_cards, 9)
    cards = pl.select(
        card_id=card_ids,
        card_type=pl.Series(ctype),
        member_id=_where(holder >= 0, member_ids.gather(np.maximum(holder, 0))),
        employer_id=_where(employer_of_card >= 0, employers["employer_id"].gather(np.maximum(employer_of_card, 0))),
        issued_date=pl.Series(issued.astype("datetime64[D]")),
    )
    emp_card = np.arange(n + len(second), n + len(second) + n_staff)
    anon_cards = np.arange(n + len(second) + n_staff, n_cards)

    # --- merchants -----------------------------------------------------------------------
    rng = rng_for(seed, "merchants")
    n_merch = max(40, round(params.merchants_per_scale * scale))
    cats = tuple(c for c, _, _ in params.outlet_mix)
    cat = _choice(rng, cats, [w for _, w, _ in params.outlet_mix], n_merch)
    chain_share = np.array([c for _, _, c in params.outlet_mix])[cat]
    in_chain = rng.random(n_merch) < chain_share
    # Outlets of a chain share the brand.
    brands_per_cat = params.brands_per_category
    brand_idx = cat * brands_per_cat + rng.integers(0, brands_per_cat, n_merch)
    merchant_district = _choice(rng, tuple(range(n_dist)), 1.0 + station_count, n_merch)
    merchant_ids = ids("S", n_merch, 7)
    brand_ids = ids("B", len(cats) * brands_per_cat, 4)
    cat_names = np.array(cats)
    brand_name = np.char.add(
        np.char.add("Brand ", np.char.zfill((brand_idx + 1).astype(str), 4)),
        np.char.add(" ", np.char.replace(cat_names[cat], "_", " ")),
    )
    merchants = pl.select(
        merchant_id=merchant_ids,
        merchant_name=pl.Series(
            np.where(
                in_chain,
                np.char.add(brand_name, np.char.add(" #", np.arange(1, n_merch + 1).astype(str))),
                np.char.add("Outlet ", np.char.add(np.arange(1, n_merch + 1).astype(str), " (independent)")),
            )
        ),
        brand_id=_where(in_chain, brand_ids.gather(brand_idx)),
        brand_name=_where(in_chain, pl.Series(brand_name)),
        category=pl.Series(cat_names[cat]),
        district_id=districts["district_id"].gather(merchant_district),
        opened_date=pl.Series(rng.integers(_days(dt.date(2012, 1, 1)), start_day, n_merch).astype("datetime64[D]")),
    )

    # --- spending habits -----------------------------------------------------------------
    rng = rng_for(seed, "habits")
    cluster = rng.integers(0, max(1, n // 4), n)  # friend and family clusters of about four
    bill_share = np.array([s for _, s, _ in params.bills])
    member_bills = (rng.random((n, len(bill_share))) < bill_share) & (age[:, None] >= 21)

    ground_truth = {
        "members": pl.select(
            member_id=member_ids,
            activity_intensity=pl.Series(intensity),
            dormant_from=_where(dormant, pl.Series(stop_day.astype("datetime64[D]"))),
        ),
        "employees": pl.select(
            member_id=member_ids.gather(emp_member),
            card_id=card_ids.gather(emp_card),
            employer_id=employers["employer_id"].gather(emp_employer),
            commute_pattern=pl.Series(np.array(COMMUTE_PATTERNS)[emp_pattern]),
            home_station_id=stations["station_id"].gather(emp_home_station),
        ),
        "employer_commute_mix": pl.DataFrame(
            {"employer_id": employers["employer_id"]}
            | {f"share_{p.replace('+', '_')}": pattern_share[:, i] for i, p in enumerate(COMMUTE_PATTERNS)}
        ),
    }
    return Population(
        params=params,
        districts=districts,
        stations=stations,
        members=members.select(table("members").column_names).cast(dict(table("members").polars_schema)),
        employers=employers.cast(dict(table("employers").polars_schema)),
        cards=cards.cast(dict(table("cards").polars_schema)),
        merchants=merchants.cast(dict(table("merchants").polars_schema)),
        member_home=home,
        member_age=age,
        member_join_day=join_day,
        member_stop_day=stop_day,
        member_intensity=intensity,
        member_card=np.arange(n),
        member_cluster=cluster,
        member_bills=member_bills,
        emp_member=emp_member,
        emp_employer=emp_employer,
        emp_card=emp_card,
        emp_pattern=emp_pattern,
        emp_home_station=emp_home_station,
        emp_leg_km=emp_leg_km,
        emp_feeder_km=emp_feeder_km,
        member_home_station=member_home_station,
        anon_cards=anon_cards,
        card_type=ctype,
        ground_truth=ground_truth,
    )
